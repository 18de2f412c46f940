"""Logging: Cloud Logging JSON fields, trace headers, text mode, idempotent setup, access lines."""

from __future__ import annotations

import io
import json
import logging
import re
from datetime import datetime

import pytest
from flask import Flask, Response, request
from flask.logging import default_handler
from gunicorn.http.wsgi import FileWrapper as GunicornFileWrapper
from werkzeug.test import EnvironBuilder
from werkzeug.wsgi import wrap_file

from app.logging import (
    TraceContext,
    configure_logging,
    parse_cloud_trace_context,
    parse_trace_headers,
    parse_traceparent,
)
from config import ConfigError
from tests.helpers import upload
from tests.media import make_video_of_size

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"
CLOUD_HEADER = {"X-Cloud-Trace-Context": f"{TRACE_ID}/1;o=1"}
W3C_HEADER = {"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"}


@pytest.fixture(autouse=True)
def restore_root_logger():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def tiny_app(**config) -> Flask:
    app = Flask("logging_test")
    app.config.update({"LOG_FORMAT": "json", "LOG_LEVEL": "INFO", "GCP_PROJECT": "demo"})
    app.config.update(config)

    @app.get("/hello")
    def hello():
        app.logger.info("hello from the view")
        return "hi"

    @app.get("/boom")
    def boom():
        try:
            raise ZeroDivisionError("no slices of nothing")
        except ZeroDivisionError:
            app.logger.exception("division went wrong")
        return "handled"

    return app


def json_lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def get(app: Flask, path: str, headers: dict | None = None) -> None:
    # The access line is written when the server closes the response, as gunicorn does.
    with app.test_client().get(path, headers=headers or {}) as response:
        assert response.status_code == 200


def test_json_line_has_cloud_logging_fields_and_cloud_trace_header():
    app, stream = tiny_app(), io.StringIO()
    configure_logging(app, stream=stream)
    get(app, "/hello", CLOUD_HEADER)

    view_line = json_lines(stream)[0]
    assert view_line["severity"] == "INFO"
    assert view_line["message"] == "hello from the view"
    assert view_line["logger"] == "logging_test"
    assert datetime.fromisoformat(view_line["time"]).utcoffset().total_seconds() == 0
    assert view_line["logging.googleapis.com/trace"] == f"projects/demo/traces/{TRACE_ID}"
    assert view_line["logging.googleapis.com/spanId"] == "0000000000000001"
    assert view_line["logging.googleapis.com/trace_sampled"] is True


def test_json_line_takes_trace_from_traceparent():
    app, stream = tiny_app(), io.StringIO()
    configure_logging(app, stream=stream)
    get(app, "/hello", W3C_HEADER)

    view_line = json_lines(stream)[0]
    assert view_line["logging.googleapis.com/trace"] == f"projects/demo/traces/{TRACE_ID}"
    assert view_line["logging.googleapis.com/spanId"] == "00f067aa0ba902b7"
    assert view_line["logging.googleapis.com/trace_sampled"] is True


def test_trace_is_bare_id_without_project():
    app, stream = tiny_app(GCP_PROJECT=None), io.StringIO()
    configure_logging(app, stream=stream)
    get(app, "/hello", W3C_HEADER)

    assert json_lines(stream)[0]["logging.googleapis.com/trace"] == TRACE_ID


def test_access_line_per_request_carries_method_path_status_duration_and_trace():
    app, stream = tiny_app(), io.StringIO()
    configure_logging(app, stream=stream)
    get(app, "/hello?token=secret", CLOUD_HEADER)

    access = [line for line in json_lines(stream) if line["logger"] == "mediastore.access"]
    assert len(access) == 1
    line = access[0]
    assert line["severity"] == "INFO"
    assert re.fullmatch(r"GET /hello 200 \d+\.\dms", line["message"])
    assert (line["method"], line["path"], line["status"]) == ("GET", "/hello", 200)
    assert line["duration_ms"] >= 0
    assert line["logging.googleapis.com/trace"] == f"projects/demo/traces/{TRACE_ID}"


@pytest.mark.parametrize(
    ("headers", "span"),
    [
        (W3C_HEADER, SPAN),
        (CLOUD_HEADER, "0000000000000001"),
        ({**W3C_HEADER, **CLOUD_HEADER}, SPAN),
    ],
    ids=["traceparent", "cloud-trace-context", "both"],
)
def test_the_access_line_takes_its_trace_from_either_header(headers, span):
    app, stream = tiny_app(), io.StringIO()
    configure_logging(app, stream=stream)
    get(app, "/hello", headers)

    (line,) = [line for line in json_lines(stream) if line["logger"] == "mediastore.access"]
    assert line["logging.googleapis.com/trace"] == f"projects/demo/traces/{TRACE_ID}"
    assert line["logging.googleapis.com/spanId"] == span
    assert line["logging.googleapis.com/trace_sampled"] is True


def test_an_access_line_without_trace_headers_has_no_trace():
    app, stream = tiny_app(), io.StringIO()
    configure_logging(app, stream=stream)
    get(app, "/hello", {"traceparent": "garbage"})

    (line,) = [line for line in json_lines(stream) if line["logger"] == "mediastore.access"]
    assert "logging.googleapis.com/trace" not in line


def streaming_app() -> Flask:
    """Responses handed to the server as they are, as downloads and streams are."""
    app = tiny_app()

    @app.get("/stream")
    def stream():
        return Response(iter([b"one", b"two"]), status=206, direct_passthrough=True)

    @app.get("/file")
    def file():
        return Response(
            wrap_file(request.environ, io.BytesIO(b"x" * 10_000)), direct_passthrough=True
        )

    return app


def access_lines(stream: io.StringIO) -> list[dict]:
    return [line for line in json_lines(stream) if line["logger"] == "mediastore.access"]


def test_a_streamed_response_gets_one_access_line_once_its_body_is_sent():
    app, stream = streaming_app(), io.StringIO()
    configure_logging(app, stream=stream)
    response = app.test_client().get("/stream", buffered=False)
    assert access_lines(stream) == []  # the body has not gone out yet
    assert b"".join(response.response) == b"onetwo"
    response.close()

    (line,) = access_lines(stream)
    assert (line["method"], line["path"], line["status"]) == ("GET", "/stream", 206)


def test_a_file_for_the_servers_sendfile_stays_its_file_wrapper_and_gets_one_access_line():
    app, stream = streaming_app(), io.StringIO()
    configure_logging(app, stream=stream)
    environ = EnvironBuilder(
        path="/file", environ_overrides={"wsgi.file_wrapper": GunicornFileWrapper}
    ).get_environ()
    statuses = []
    body = app(environ, lambda status, headers, exc_info=None: statuses.append(status))
    # gunicorn sends the body with sendfile() only if it is its own wrapper type.
    assert isinstance(body, GunicornFileWrapper)
    assert access_lines(stream) == []
    assert b"".join(body) == b"x" * 10_000
    body.close()
    body.close()  # a second close logs nothing more

    (line,) = access_lines(stream)
    assert (line["path"], line["status"]) == ("/file", 200) and statuses == ["200 OK"]


def test_downloads_and_streams_of_the_service_get_one_access_line_each(client, auth, capsys):
    upload(client, auth(), make_video_of_size(300_000), "clip.mp4")
    capsys.readouterr()
    for path, headers in [
        ("/download/disk/clip.mp4", {}),
        ("/stream/video/clip.mp4", {}),
        ("/stream/video/clip.mp4", {"Range": "bytes=10-"}),
        ("/stream/video/clip.mp4", {"Range": "bytes=10-20"}),
    ]:
        with client.get(path, headers={**auth(), **headers}) as response:
            assert response.status_code in (200, 206)

    access = [line for line in capsys.readouterr().out.splitlines() if "mediastore.access" in line]
    assert [line.split("mediastore.access: ")[1].rsplit(" ", 1)[0] for line in access] == [
        "GET /download/disk/clip.mp4 200",
        "GET /stream/video/clip.mp4 200",
        "GET /stream/video/clip.mp4 206",
        "GET /stream/video/clip.mp4 206",
    ]


def test_exception_goes_to_stack_trace_at_error():
    app, stream = tiny_app(), io.StringIO()
    configure_logging(app, stream=stream)
    get(app, "/boom")

    line = json_lines(stream)[0]
    assert line["severity"] == "ERROR"
    assert line["message"] == "division went wrong"
    assert line["stack_trace"].startswith("Traceback (most recent call last)")
    assert "ZeroDivisionError" in line["stack_trace"]


def test_record_outside_request_has_no_trace_and_keeps_extra_fields():
    app, stream = tiny_app(), io.StringIO()
    configure_logging(app, stream=stream)
    logging.getLogger("services.media").warning("quota low", extra={"owner_id": "u1"})

    (line,) = json_lines(stream)
    assert line["severity"] == "WARNING"
    assert line["logger"] == "services.media"
    assert line["owner_id"] == "u1"
    assert not any(key.startswith("logging.googleapis.com/") for key in line)


def test_text_format_is_one_readable_line():
    app, stream = tiny_app(LOG_FORMAT="text"), io.StringIO()
    configure_logging(app, stream=stream)
    get(app, "/hello")

    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith(" INFO logging_test: hello from the view")
    assert re.search(r" INFO mediastore\.access: GET /hello 200 \d+\.\dms$", lines[1])
    assert not lines[0].startswith("{")


def test_configuring_twice_does_not_duplicate_lines():
    stream = io.StringIO()
    configure_logging(tiny_app(), stream=stream)
    app = tiny_app()
    configure_logging(app, stream=stream)
    configure_logging(app, stream=stream)
    get(app, "/hello")

    loggers = [line["logger"] for line in json_lines(stream)]
    assert loggers == ["logging_test", "mediastore.access"]


def test_default_stream_is_stdout(capsys):
    app = tiny_app()
    configure_logging(app)
    logging.getLogger("mediastore").info("to stdout")

    out = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["message"] for line in out] == ["to stdout"]


def test_flask_default_stderr_handler_is_removed(capsys):
    app = tiny_app()
    # Flask attaches it when app.logger is first used while no handler is configured.
    app.logger.addHandler(default_handler)
    configure_logging(app)
    get(app, "/hello")

    captured = capsys.readouterr()
    assert captured.err == ""
    assert len(captured.out.splitlines()) == 2


def test_log_level_filters_lower_records():
    app, stream = tiny_app(LOG_LEVEL="warning"), io.StringIO()
    configure_logging(app, stream=stream)
    logging.getLogger("mediastore").info("dropped")
    logging.getLogger("mediastore").error("kept")

    assert [line["message"] for line in json_lines(stream)] == ["kept"]


@pytest.mark.parametrize("setting", [{"LOG_FORMAT": "xml"}, {"LOG_LEVEL": "LOUD"}])
def test_unknown_format_or_level_is_refused_by_name(setting):
    name = next(iter(setting))
    with pytest.raises(ConfigError, match=name):
        configure_logging(tiny_app(**setting), stream=io.StringIO())


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (f"00-{TRACE_ID}-{SPAN}-01", TraceContext(TRACE_ID, SPAN, True)),
        (f"00-{TRACE_ID}-{SPAN}-00", TraceContext(TRACE_ID, SPAN, False)),
        (f"01-{TRACE_ID}-{SPAN}-03-future", TraceContext(TRACE_ID, SPAN, True)),
        (f"00-{TRACE_ID}-00f067aa0ba902b7-01-extra", None),
        (f"ff-{TRACE_ID}-00f067aa0ba902b7-01", None),
        (f"00-{'0' * 32}-00f067aa0ba902b7-01", None),
        (f"00-{TRACE_ID}-{'0' * 16}-01", None),
        (f"00-{TRACE_ID.upper()}-00f067aa0ba902b7-01", None),
        (f"00-{TRACE_ID[:-1]}-00f067aa0ba902b7-01", None),
        ("garbage", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_traceparent(value, expected):
    assert parse_traceparent(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (f"{TRACE_ID}/1;o=1", TraceContext(TRACE_ID, "0000000000000001", True)),
        (f"{TRACE_ID}/255;o=0", TraceContext(TRACE_ID, "00000000000000ff", False)),
        (f"{TRACE_ID}/18446744073709551615", TraceContext(TRACE_ID, "ffffffffffffffff", None)),
        (f"{TRACE_ID.upper()}/1", TraceContext(TRACE_ID, "0000000000000001", None)),
        (TRACE_ID, TraceContext(TRACE_ID)),
        (f"{TRACE_ID}/0;o=1", TraceContext(TRACE_ID, None, True)),
        (f"{TRACE_ID}/18446744073709551616", TraceContext(TRACE_ID)),
        (f"{TRACE_ID}/abc;o=1", None),
        (f"{TRACE_ID[:-1]}/1;o=1", None),
        (f"{'0' * 32}/1;o=1", None),
        ("not-a-trace", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_cloud_trace_context(value, expected):
    assert parse_cloud_trace_context(value) == expected


def test_parse_trace_headers_prefers_traceparent_and_falls_back():
    other = "0af7651916cd43dd8448eb211c80319c"
    both = {"traceparent": f"00-{other}-b7ad6b7169203331-00", **CLOUD_HEADER}
    broken_w3c = {"traceparent": "00-nope", **CLOUD_HEADER}

    assert parse_trace_headers(both).trace_id == other
    assert parse_trace_headers(broken_w3c) == TraceContext(TRACE_ID, "0000000000000001", True)
    assert parse_trace_headers({}) is None
