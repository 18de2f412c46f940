"""The service under gunicorn, the server it runs on: bodies sent from files are exact.

With the embedded store, bodies that run to the end of a file are handed to gunicorn as a
wsgi.file_wrapper, which it sends with sendfile(), chunk framing included. Only a real
gunicorn exercises that path, so these tests start one.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import jwt
import pytest
import requests

from config import SETTINGS
from tests.media import make_video_of_size

ROOT = Path(__file__).resolve().parent.parent
SECRET = "gunicorn-test-secret-0123456789abcdef"
LIMIT = 1024 * 1024  # bodies above this go out chunked, as above 32 MiB in production
MIB = 1024 * 1024


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server_log(tmp_path_factory) -> Path:
    """Where the server's stdout (its log lines, JSON) goes."""
    return tmp_path_factory.mktemp("log") / "stdout.jsonl"


@pytest.fixture(scope="module")
def server(tmp_path_factory, server_log):
    """gunicorn serving wsgi:app on the embedded defaults, as `make run` does."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS and k != "APP_ENV"}
    env.update(
        APP_ENV="development",
        DATA_DIR=str(tmp_path_factory.mktemp("data")),
        JWT_SECRET_KEY=SECRET,
        RESPONSE_LENGTH_LIMIT_BYTES=str(LIMIT),
        LOG_FORMAT="json",
    )
    command = [
        sys.executable, "-m", "gunicorn", "--workers", "1", "--threads", "4",
        "--no-control-socket", "--bind", f"127.0.0.1:{port}", "wsgi:app",
    ]  # fmt: skip
    with server_log.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_for(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {process.stderr.read().decode()[-2000:]}")
        try:
            if requests.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not answer /health")


@pytest.fixture(scope="module")
def auth():
    claims = {"sub": "gunicorn-user", "exp": int(time.time()) + 3600, "type": "access"}
    return {"Authorization": f"Bearer {jwt.encode(claims, SECRET, algorithm='HS256')}"}


@pytest.fixture(scope="module")
def videos(server, auth):
    """One video above the length limit and one below it, uploaded through the service."""
    stored = {
        "large.mp4": make_video_of_size(3 * MIB + 12345),
        "small.mp4": make_video_of_size(300_000),
    }
    for name, data in stored.items():
        files = {"file": (name, data, "video/mp4")}
        answer = requests.post(f"{server}/upload", files=files, headers=auth, timeout=30)
        assert answer.status_code == 200, answer.text
    return stored


def _get(url: str, headers: dict) -> requests.Response:
    return requests.get(url, headers=headers, timeout=30)


def test_a_body_over_the_limit_goes_out_chunked_and_whole(server, auth, videos):
    answer = _get(f"{server}/stream/video/large.mp4", auth)
    assert answer.status_code == 200
    assert "Content-Length" not in answer.headers
    assert answer.headers["Transfer-Encoding"] == "chunked"
    assert answer.content == videos["large.mp4"]


def test_a_body_under_the_limit_declares_its_length(server, auth, videos):
    answer = _get(f"{server}/download/disk/small.mp4", auth)
    assert answer.status_code == 200
    assert answer.headers["Content-Length"] == str(len(videos["small.mp4"]))
    assert answer.content == videos["small.mp4"]


def test_a_range_to_the_end_sends_exactly_that_range(server, auth, videos):
    data = videos["large.mp4"]
    start = len(data) - 5000
    answer = _get(f"{server}/stream/video/large.mp4", {**auth, "Range": f"bytes={start}-"})
    assert answer.status_code == 206
    assert answer.headers["Content-Range"] == f"bytes {start}-{len(data) - 1}/{len(data)}"
    assert answer.headers["Content-Length"] == "5000"
    assert answer.content == data[start:]


def test_a_range_inside_the_file_stops_where_it_should(server, auth, videos):
    data = videos["large.mp4"]
    answer = _get(f"{server}/stream/video/large.mp4", {**auth, "Range": "bytes=1000-2000"})
    assert answer.status_code == 206
    assert answer.content == data[1000:2001]


def test_keep_alive_requests_after_a_file_body_stay_in_step(server, auth, videos):
    # A wrong byte count on a kept-alive connection would corrupt the next answer.
    with requests.Session() as session:
        for _ in range(3):
            for name, data in videos.items():
                answer = session.get(f"{server}/stream/video/{name}", headers=auth, timeout=30)
                assert answer.content == data


def _access_lines(log: Path, trace_id: str) -> list[dict]:
    """The access lines of the request that carried this trace id, once it has one."""
    deadline = time.monotonic() + 10
    while True:
        lines = [json.loads(line) for line in log.read_text().splitlines() if trace_id in line]
        access = [line for line in lines if line["logger"] == "mediastore.access"]
        if access or time.monotonic() > deadline:
            return access
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/download/disk/small.mp4", {}, 200),  # a file body: sendfile()
        ("/download/disk/large.mp4", {}, 200),  # a file body over the limit: chunked sendfile()
        ("/stream/video/large.mp4", {"Range": "bytes=1000-"}, 206),
        ("/stream/video/large.mp4", {"Range": "bytes=1000-2000"}, 206),  # primed chunks
        ("/stream/video/nothing.mp4", {}, 404),
    ],
)
def test_every_request_gets_exactly_one_access_line(
    server, server_log, auth, videos, path, headers, status
):
    trace_id = uuid.uuid4().hex
    headers = {**auth, **headers, "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"}
    answer = _get(f"{server}{path}", headers)
    assert answer.status_code == status
    (line,) = _access_lines(server_log, trace_id)
    assert (line["method"], line["path"], line["status"]) == ("GET", path, status)
    assert line["duration_ms"] >= 0
