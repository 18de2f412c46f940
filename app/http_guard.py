"""The WSGI edge of request bodies: an idle timeout on every read, and a cap on large ones."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import IO, TYPE_CHECKING, Any

from flask import Flask
from werkzeug.exceptions import RequestTimeout
from werkzeug.wrappers import Response

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# The client socket, as gunicorn and werkzeug's development server hand it over.
SOCKET_KEYS = ("gunicorn.socket", "werkzeug.socket")
BUSY_MESSAGE = "Too many uploads in progress; retry shortly"


def guard_request_bodies(app: Flask) -> None:
    """Wrap the app in a BodyGuard configured from its settings."""
    config = app.config
    threads = config["GUNICORN_THREADS"]
    app.wsgi_app = BodyGuard(  # type: ignore[method-assign]
        app.wsgi_app,
        idle_timeout=config["REQUEST_BODY_IDLE_TIMEOUT_SECONDS"],
        large_body_bytes=config["LARGE_BODY_BYTES"],
        max_large_bodies=config["MAX_CONCURRENT_LARGE_BODIES"] or max(1, threads - 2),
        retry_after=config["LARGE_BODY_RETRY_AFTER_SECONDS"],
    )


class BodyGuard:
    """Keep request bodies from holding the server's threads.

    gunicorn runs a fixed number of threads and never times a request out, so a client that
    sends headers and part of a body, then goes silent, holds a thread for as long as it
    keeps the connection. Two rules bound that:

    - every read of the body waits at most `idle_timeout` seconds for the next bytes (like
      nginx's client_body_timeout); a read that waits longer fails the request with 408;
    - at most `max_large_bodies` requests may be receiving a large body (over
      `large_body_bytes`, or of unknown length) at once; one more is answered at once with
      503 and Retry-After, without reading its body. Requests without a body (health,
      downloads) and small ones therefore always find a thread.

    Either way the connection is done with: its read side is shut, so the server neither
    drains the rest of the body nor lingers on it, and closes it once the answer is sent.
    """

    def __init__(
        self,
        wsgi_app: WSGIApplication,
        *,
        idle_timeout: float,
        large_body_bytes: int,
        max_large_bodies: int,
        retry_after: int,
    ) -> None:
        self.wsgi_app = wsgi_app
        self.idle_timeout = idle_timeout
        self.large_body_bytes = large_body_bytes
        self.retry_after = retry_after
        self._slots = threading.BoundedSemaphore(max_large_bodies)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        length = _declared_length(environ)
        if length == 0:
            return self.wsgi_app(environ, start_response)
        sock = next((environ[key] for key in SOCKET_KEYS if key in environ), None)
        if sock is not None:
            environ["wsgi.input"] = IdleTimeoutInput(environ["wsgi.input"], sock, self.idle_timeout)
        if length is not None and length <= self.large_body_bytes:
            return self.wsgi_app(environ, start_response)
        if not self._slots.acquire(blocking=False):
            if sock is not None:
                stop_reading(sock)
            return self._busy(environ, start_response)
        # The body is read by the time the app returns (views read it before answering).
        try:
            return self.wsgi_app(environ, start_response)
        finally:
            self._slots.release()

    def _busy(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        response = Response(
            json.dumps({"error": BUSY_MESSAGE}),
            status=503,
            mimetype="application/json",
            headers={"Retry-After": str(self.retry_after)},
        )
        return response(environ, start_response)


class IdleTimeoutInput:
    """wsgi.input whose every read waits at most `timeout` seconds for the client.

    The timeout is set on the client socket around each read only, so writing the answer
    is not affected. A read that times out raises RequestTimeout (408): raised as an
    OSError it would reach werkzeug's LimitedStream, which reports it as a disconnect.
    """

    def __init__(self, stream: IO[bytes], sock: socket.socket, timeout: float) -> None:
        self._stream = stream
        self._sock = sock
        self._timeout = timeout

    def read(self, size: int | None = -1) -> bytes:
        return self._bounded(self._stream.read, size)

    def readline(self, size: int | None = -1) -> bytes:
        return self._bounded(self._stream.readline, size)

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        return self._bounded(self._stream.readlines, hint)

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    def _bounded(self, read: Callable[[Any], Any], size: Any) -> Any:
        prior = self._sock.gettimeout()
        self._sock.settimeout(self._timeout)
        try:
            return read(size)
        except TimeoutError as error:
            stop_reading(self._sock)
            raise RequestTimeout() from error
        finally:
            self._sock.settimeout(prior)


def stop_reading(sock: socket.socket) -> None:
    """Shut the connection's read side: the server then sees the body end at once.

    Without this gunicorn would wait for the rest of an abandoned body after the answer
    (up to seconds per connection, some of it on its main thread). TLS sockets are left
    alone: shutting one down discards its TLS state, and the answer could not be sent.
    """
    if isinstance(sock, ssl.SSLSocket):
        return
    with contextlib.suppress(OSError):  # already gone
        sock.shutdown(socket.SHUT_RD)


def _declared_length(environ: WSGIEnvironment) -> int | None:
    """The body's length: 0 when there is none, None when unknown (chunked)."""
    if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return None
    try:
        return max(0, int(environ.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0
