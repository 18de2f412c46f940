"""The body guard on a real socket: idle bodies get 408, large ones beyond the cap 503."""

from __future__ import annotations

import contextlib
import functools
import http.client
import json
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from urllib.parse import urlsplit

import pytest

from tests.fixtures.live import serve
from tests.helpers import BOUNDARY, multipart
from tests.media import make_video_of_size

MIB = 1024 * 1024
# Long enough that a guarded request is plainly answered by the guard; a client waiting
# this long for an answer that never comes (no guard) fails instead of hanging.
ANSWER_WAIT = 20


@pytest.fixture
def guarded(make_app, auth) -> Iterator[Callable[[float], str]]:
    """Start a live server whose guard allows one large body and times idle ones out."""
    with ExitStack() as stack:

        def start(idle_timeout: float) -> str:
            app = make_app(
                REQUEST_BODY_IDLE_TIMEOUT_SECONDS=idle_timeout,
                LARGE_BODY_BYTES=64 * 1024,
                MAX_CONCURRENT_LARGE_BODIES=1,
                LARGE_BODY_RETRY_AFTER_SECONDS=7,
            )
            return stack.enter_context(serve(app))

        yield start


def wait_until_receiving(database, name: str) -> None:
    """Wait until the upload of `name` is under way: it holds the slot and has claimed it."""
    deadline = time.monotonic() + ANSWER_WAIT
    while database["files"].find_one({"owner": "alice", "filename": name}) is None:
        assert time.monotonic() < deadline, f"the upload of {name} never started"
        time.sleep(0.02)


@functools.cache
def video_of_3_mib() -> bytes:
    return make_video_of_size(3 * MIB)


@contextmanager
def stalled_upload(
    url: str, headers: dict[str, str], name: str = "stalled.mp4", length: int | None = 10 * MIB
):
    """An upload that declares `length` bytes (None: chunked), sends a video's start, waits.

    What it sends fills the upload's first read, so the upload is under way (its name is
    claimed) when it stalls.
    """
    host = urlsplit(url)
    sock = socket.create_connection((host.hostname, host.port), timeout=ANSWER_WAIT)
    start = multipart(video_of_3_mib(), name)[: 3 * MIB // 2]
    framing = {"Content-Length": str(length)}
    if length is None:
        framing = {"Transfer-Encoding": "chunked"}
        start = f"{len(start):x}\r\n".encode() + start + b"\r\n"
    fields = {
        "Host": host.netloc,
        **headers,
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        **framing,
    }
    head = "".join(f"{key}: {value}\r\n" for key, value in fields.items())
    # A refused upload may be answered, and no longer read, before all of this is sent; a
    # client then reads the answer, as HTTP clients do.
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        sock.sendall(f"POST /upload HTTP/1.1\r\n{head}\r\n".encode() + start)
    try:
        yield sock
    finally:
        sock.close()


def answer_of(sock: socket.socket) -> tuple[int, dict[str, str], dict]:
    response = http.client.HTTPResponse(sock)
    response.begin()
    return response.status, dict(response.getheaders()), json.loads(response.read())


def test_a_body_that_goes_silent_is_answered_408_after_the_idle_timeout(guarded, auth, database):
    url = guarded(0.5)
    with stalled_upload(url, auth()) as sock:
        status, _, body = answer_of(sock)
        assert status == 408
        assert list(body) == ["error"] and body["error"]
        assert sock.recv(1) == b""  # and the connection is closed
    # The upload was undone: no claim is left behind.
    assert list(database["files"].find({"owner": "alice"})) == []


def test_a_large_body_beyond_the_cap_is_503_at_once_while_small_requests_pass(
    guarded, auth, database, caplog
):
    url = guarded(ANSWER_WAIT * 3)  # the first upload keeps its slot for the whole test
    with stalled_upload(url, auth(), "holder.mp4"):
        wait_until_receiving(database, "holder.mp4")
        with stalled_upload(url, auth(), "refused.mp4") as refused:
            status, headers, body = answer_of(refused)
        assert status == 503
        assert headers["Retry-After"] == "7"
        assert body == {"error": "Too many uploads in progress; retry shortly"}
        client = connect(url)
        client.request("GET", "/health")
        assert client.getresponse().status == 200
        small = json.dumps({"filename": "nothing.mp4"})
        client.request(
            "DELETE", "/delete-file", small, {**auth(), "Content-Type": "application/json"}
        )
        assert client.getresponse().status == 404  # answered, not 503
    # The guard's answers are logged like any other.
    access = [r.getMessage() for r in caplog.records if r.name == "mediastore.access"]
    assert any(line.startswith("POST /upload 503 ") for line in access)


def test_a_body_of_unknown_length_counts_as_large(guarded, auth, database):
    url = guarded(ANSWER_WAIT * 3)
    with stalled_upload(url, auth(), "holder.mp4"):
        wait_until_receiving(database, "holder.mp4")
        with stalled_upload(url, auth(), "chunked.mp4", length=None) as chunked:
            status, headers, _ = answer_of(chunked)
        assert status == 503 and headers["Retry-After"] == "7"


def test_the_slot_is_free_again_once_a_large_body_has_been_answered(guarded, auth):
    url = guarded(0.5)
    with stalled_upload(url, auth()) as first:
        assert answer_of(first)[0] == 408
    data = make_video_of_size(200_000)
    client = connect(url)
    client.request(
        "POST",
        "/upload",
        multipart(data, "after.mp4"),
        {**auth(), "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    response = client.getresponse()
    assert response.status == 200
    assert json.loads(response.read())["size"] == len(data)


def connect(url: str) -> http.client.HTTPConnection:
    host = urlsplit(url)
    return http.client.HTTPConnection(host.hostname, host.port, timeout=ANSWER_WAIT)
