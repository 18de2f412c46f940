"""Logging: Cloud Logging JSON lines on Cloud Run, readable lines elsewhere, access lines."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

from flask import Flask, has_request_context, request
from flask.logging import default_handler
from werkzeug.wsgi import get_path_info

from config import ConfigError

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

HANDLER_NAME = "mediastore"
ACCESS_LOGGER = "mediastore.access"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")
_CLOUD_TRACE = re.compile(r"^([0-9a-fA-F]{32})(?:/([0-9]*))?(?:;o=([0-9]+))?$")
# Query parameters that carry a credential (our signed URLs, media download tokens, GCS V4
# signed URLs), and bearer tokens: their values never reach a log line.
_SECRET_QUERY = re.compile(
    r"([?&](?:signature|sig|token|x-goog-signature|x-goog-credential)=)[^&\s\"']*", re.IGNORECASE
)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
# Loggers of the servers that log request lines with their query strings.
_REQUEST_LINE_LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error")
# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged.
_RECORD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


@dataclass(frozen=True)
class TraceContext:
    """A request's trace as Cloud Logging wants it: hex ids, and the sampling flag when known."""

    trace_id: str
    span_id: str | None = None
    sampled: bool | None = None


def parse_traceparent(value: str | None) -> TraceContext | None:
    """Parse a W3C `traceparent` header (00-TRACE_ID-SPAN_ID-FLAGS); None when malformed."""
    match = _TRACEPARENT.match((value or "").strip())
    if not match:
        return None
    version, trace_id, span_id, flags, rest = match.groups()
    # Version ff is forbidden; version 00 has exactly four fields; all-zero ids are invalid.
    if version == "ff" or (version == "00" and rest) or _is_zero(trace_id) or _is_zero(span_id):
        return None
    return TraceContext(trace_id, span_id, bool(int(flags, 16) & 1))


def parse_cloud_trace_context(value: str | None) -> TraceContext | None:
    """Parse an `X-Cloud-Trace-Context` header (TRACE_ID/SPAN_ID;o=1); None when malformed."""
    match = _CLOUD_TRACE.match((value or "").strip())
    if not match or _is_zero(match.group(1)):
        return None
    trace_id, span, option = match.groups()
    # The header carries the span as a decimal uint64; Cloud Logging wants 16 hex digits.
    span_id = f"{int(span):016x}" if span and 0 < int(span) < 2**64 else None
    sampled = None if option is None else bool(int(option) & 1)
    return TraceContext(trace_id.lower(), span_id, sampled)


def parse_trace_headers(headers: Mapping[str, str]) -> TraceContext | None:
    """Read the trace from `traceparent`, else `X-Cloud-Trace-Context`; None when neither parses."""
    return parse_traceparent(headers.get("traceparent")) or parse_cloud_trace_context(
        headers.get("X-Cloud-Trace-Context")
    )


def _is_zero(hex_id: str) -> bool:
    return not hex_id.strip("0")


def _current_trace(record: logging.LogRecord) -> TraceContext | None:
    trace = getattr(record, "trace_context", None)
    if trace is None and has_request_context():
        trace = parse_trace_headers(request.headers)
    return trace


class CloudLoggingFormatter(logging.Formatter):
    """Format a record as one JSON object with the fields Cloud Logging maps onto a LogEntry."""

    def __init__(self, project: str | None = None) -> None:
        super().__init__()
        self.project = project

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": _severity(record.levelno),
            "message": record.getMessage(),
            "time": _rfc3339(record.created),
            "logger": record.name,
        }
        stack = self._stack_trace(record)
        if stack:
            # Error Reporting picks up a Python traceback from `stack_trace`.
            entry["stack_trace"] = stack
        entry.update(self._trace_fields(_current_trace(record)))
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRS and key != "trace_context" and key not in entry:
                entry[key] = value
        return json.dumps(entry, default=str)

    def _stack_trace(self, record: logging.LogRecord) -> str:
        parts = []
        if record.exc_info:
            parts.append(self.formatException(record.exc_info))
        elif record.exc_text:
            parts.append(record.exc_text)
        if record.stack_info:
            parts.append(self.formatStack(record.stack_info))
        return "\n".join(parts)

    def _trace_fields(self, trace: TraceContext | None) -> dict[str, Any]:
        if trace is None:
            return {}
        name = trace.trace_id
        if self.project:
            name = f"projects/{self.project}/traces/{trace.trace_id}"
        fields: dict[str, Any] = {"logging.googleapis.com/trace": name}
        if trace.span_id:
            fields["logging.googleapis.com/spanId"] = trace.span_id
        if trace.sampled is not None:
            fields["logging.googleapis.com/trace_sampled"] = trace.sampled
        return fields


def _severity(levelno: int) -> str:
    for threshold, name in (
        (logging.CRITICAL, "CRITICAL"),
        (logging.ERROR, "ERROR"),
        (logging.WARNING, "WARNING"),
        (logging.INFO, "INFO"),
        (logging.DEBUG, "DEBUG"),
    ):
        if levelno >= threshold:
            return name
    return "DEFAULT"


def _rfc3339(created: float) -> str:
    stamp = datetime.fromtimestamp(created, tz=UTC).isoformat(timespec="microseconds")
    return stamp.replace("+00:00", "Z")


class _StdoutHandler(logging.StreamHandler):
    """Write to the sys.stdout of the moment, so a replaced stdout (test capture) is honoured."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> TextIO:  # type: ignore[override]
        return sys.stdout


def configure_logging(app: Flask, *, stream: TextIO | None = None) -> None:
    """Send every log record through one root handler, in the format the config names."""
    handler = logging.StreamHandler(stream) if stream is not None else _StdoutHandler()
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(_formatter(app.config))
    root = logging.getLogger()
    # Replace, never add: tests build many apps in one process.
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(_level(app.config.get("LOG_LEVEL", "INFO")))
    # Flask's own stderr handler would print every app.logger record a second time.
    app.logger.removeHandler(default_handler)
    for name in _REQUEST_LINE_LOGGERS:
        server_logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in server_logger.filters):
            server_logger.addFilter(RedactSecrets())
    # Outermost, and once however often logging is configured; what wraps the app before
    # this (the body guard) is timed and logged with it.
    if not isinstance(app.wsgi_app, AccessLog):
        app.wsgi_app = AccessLog(app.wsgi_app)  # type: ignore[method-assign]


def redact_secrets(text: str) -> str:
    """The text with signature and token query values and bearer tokens replaced."""
    return _BEARER.sub(r"\1[redacted]", _SECRET_QUERY.sub(r"\1[redacted]", text))


class RedactSecrets(logging.Filter):
    """Rewrite a record whose message holds a credential (the servers' request lines)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_secrets(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def _formatter(config: Mapping[str, Any]) -> logging.Formatter:
    log_format = config.get("LOG_FORMAT", "text")
    if log_format == "json":
        return CloudLoggingFormatter(config.get("GCP_PROJECT"))
    if log_format == "text":
        return logging.Formatter(TEXT_FORMAT)
    raise ConfigError(f"LOG_FORMAT must be json or text, not {log_format!r}")


def _level(name: str) -> int:
    levels = logging.getLevelNamesMapping()
    if str(name).upper() not in levels:
        raise ConfigError(f"LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, not {name!r}")
    return levels[str(name).upper()]


class AccessLog:
    """WSGI middleware: one access line per request, written when the server closes the body.

    Flask's own hooks cannot do this: a streamed or file-wrapped response is handed to the
    server as it is, so nothing Flask registers on it runs once the body has gone out. The
    line's time therefore runs from the call to the close, and covers the body.
    """

    def __init__(self, wsgi_app: WSGIApplication) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        fields: dict[str, Any] = {
            "method": environ.get("REQUEST_METHOD", ""),
            "path": "/" + get_path_info(environ).lstrip("/"),
            "status": 500,  # until the application starts a response
        }
        trace = _environ_trace(environ)

        def start(status: str, headers: list, exc_info: Any = None) -> Any:
            fields["status"] = int(status.split(" ", 1)[0])
            return start_response(status, headers, exc_info)

        def log_access() -> None:
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            _log_access(fields, duration_ms, trace)

        try:
            body = self.wsgi_app(environ, start)
        except BaseException:
            log_access()
            raise
        return _on_close(environ, body, log_access)


def _environ_trace(environ: WSGIEnvironment) -> TraceContext | None:
    """parse_trace_headers on the WSGI environ, without building a headers object first."""
    traceparent = environ.get("HTTP_TRACEPARENT")
    cloud = environ.get("HTTP_X_CLOUD_TRACE_CONTEXT")
    if traceparent is None and cloud is None:
        return None  # most requests: nothing to parse
    return parse_traceparent(traceparent) or parse_cloud_trace_context(cloud)


def _log_access(fields: dict[str, Any], duration_ms: float, trace: TraceContext | None) -> None:
    """Write the access line: what logger.info() writes, minus its search for the caller.

    Logger.info() walks the stack to fill the record's file, line and function, which no
    formatter here prints; on a small request that walk cost as much as the rest of the
    line. The record is otherwise the one info() makes: same logger, level, message,
    arguments and extra fields, through the logger's filters and handlers.
    """
    logger = logging.getLogger(ACCESS_LOGGER)
    if not logger.isEnabledFor(logging.INFO):
        return
    record = logger.makeRecord(
        ACCESS_LOGGER,
        logging.INFO,
        "(unknown file)",
        0,
        "%s %s %s %.1fms",
        (fields["method"], fields["path"], fields["status"], duration_ms),
        None,
        extra={**fields, "duration_ms": duration_ms, "trace_context": trace},
    )
    logger.handle(record)


def _on_close(
    environ: WSGIEnvironment, body: Iterable[bytes], callback: Callable[[], None]
) -> Iterable[bytes]:
    """The body, with `callback` run once when the server closes it."""
    file_wrapper = environ.get("wsgi.file_wrapper")
    if isinstance(file_wrapper, type) and isinstance(body, file_wrapper):
        # The server knows its own file wrapper by type and sends it with sendfile(): keep
        # the object, and chain the callback to the close the server calls once it is sent.
        body.close = _then(getattr(body, "close", None), callback)  # type: ignore[attr-defined]
        return body
    return _ClosingBody(body, callback)


class _ClosingBody:
    """Iterate a WSGI body; closing it closes the body, then runs the callback."""

    def __init__(self, body: Iterable[bytes], callback: Callable[[], None]) -> None:
        self._chunks = iter(body)
        self.close = _then(getattr(body, "close", None), callback)

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        return next(self._chunks)


def _then(first: Callable[[], None] | None, callback: Callable[[], None]) -> Callable[[], None]:
    """A close that runs `first` (if any), then `callback` even if `first` raised; once."""
    done = False

    def close() -> None:
        nonlocal done
        if done:
            return
        done = True
        try:
            if first is not None:
                first()
        finally:
            callback()

    return close
