"""The service under gunicorn, the server it runs on: file bodies, access lines, stalls.

With the embedded store, bodies that run to the end of a file are handed to gunicorn as a
wsgi.file_wrapper, which it sends with sendfile(), chunk framing included. gunicorn's
threads are what stalled uploads would hold. Only a real gunicorn exercises these paths,
so these tests start one.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import select
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
from tests.conftest import SESSION_LOGS
from tests.helpers import BOUNDARY, multipart
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
    """Where the server's stdout (its log lines, JSON) goes; searched for secrets at the end."""
    path = tmp_path_factory.mktemp("log") / "stdout.jsonl"
    SESSION_LOGS.watch_file(path)
    return path


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
        except (requests.ConnectionError, requests.Timeout):  # not listening, or still booting
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


# -- `make run`'s gunicorn (gunicorn.conf.py) and uploads that go silent ---------------------

THREADS = 4
IDLE_SECONDS = 6


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def make_run(tmp_path_factory, home):
    """gunicorn started as `make run` starts it, with four threads and a short idle timeout."""
    port = _free_port()
    data_dir = tmp_path_factory.mktemp("make-run-data")
    drop = {*SETTINGS, "APP_ENV", "XDG_RUNTIME_DIR"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(
        APP_ENV="development",
        HOME=str(home),
        HOST="127.0.0.1",
        PORT=str(port),
        DATA_DIR=str(data_dir),
        GUNICORN_THREADS=str(THREADS),
        REQUEST_BODY_IDLE_TIMEOUT_SECONDS=str(IDLE_SECONDS),
    )
    command = [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(url, process)
        # The development secret is generated in DATA_DIR on the first start, as in `make run`.
        secret = (data_dir / "jwt-secret").read_text()
        claims = {"sub": "stalled-user", "exp": int(time.time()) + 3600, "type": "access"}
        yield url, {"Authorization": f"Bearer {jwt.encode(claims, secret, algorithm='HS256')}"}
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_make_run_opens_no_control_socket_in_home(make_run, home):
    assert list(home.iterdir()) == []


def _stall(url: str, headers: dict, data: bytes, name: str) -> socket.socket:
    """Send upload headers and the first 1.5 MiB of a 3 MiB video, then go silent."""
    port = int(url.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port), timeout=IDLE_SECONDS * 5)
    body = multipart(data, name)
    head = "".join(f"{key}: {value}\r\n" for key, value in headers.items())
    # A refused upload may be answered, and no longer read, before all of this is sent; a
    # client then reads the answer, as HTTP clients do.
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        sock.sendall(
            f"POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body[: len(body) // 2]
        )
    return sock


def _answered(socks: list[socket.socket], count: int, wait: float) -> list[socket.socket]:
    """Wait up to `wait` seconds until `count` of the sockets have an answer to read."""
    deadline = time.monotonic() + wait
    ready: list[socket.socket] = []
    while len(ready) < count and time.monotonic() < deadline:
        ready, _, _ = select.select(socks, [], [], max(0.0, deadline - time.monotonic()))
        if len(ready) < count:
            time.sleep(0.05)
    return ready


def _answer(sock: socket.socket) -> tuple[int, dict]:
    response = http.client.HTTPResponse(sock)
    response.begin()
    return response.status, json.loads(response.read())


def test_uploads_stalled_on_every_thread_leave_health_answering_and_time_out(make_run):
    url, auth = make_run
    data = make_video_of_size(3 * MIB)
    stalled = [_stall(url, auth, data, f"stalled-{n}.mp4") for n in range(THREADS + 2)]
    try:
        # All but two threads may receive a large body: the rest are refused at once...
        admitted = THREADS - 2
        refused = _answered(stalled, len(stalled) - admitted, wait=IDLE_SECONDS / 2)
        assert len(refused) == len(stalled) - admitted
        for sock in refused:
            status, body = _answer(sock)
            assert status == 503 and "retry" in body["error"]
        # ...so health answers while the admitted ones still hold their threads, unanswered.
        assert requests.get(f"{url}/health", timeout=IDLE_SECONDS / 2).status_code == 200
        holding = [sock for sock in stalled if sock not in refused]
        assert _answered(holding, 1, wait=0) == []
        # Once their bodies have been idle for the timeout, they are answered 408.
        for sock in holding:
            status, body = _answer(sock)
            assert status == 408 and list(body) == ["error"] and body["error"]
    finally:
        for sock in stalled:
            sock.close()
    # Nothing of the stalled uploads is left, and the threads serve uploads again.
    status = requests.get(f"{url}/storage-status", headers=auth, timeout=30)
    assert status.json()["files"] == []
    files = {"file": ("after.mp4", data, "video/mp4")}
    assert requests.post(f"{url}/upload", files=files, headers=auth, timeout=30).status_code == 200


def _raw_exchange(url: str, request: bytes) -> tuple[int, dict, bytes]:
    """Send raw bytes to the server; return the status, headers and body it answers."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, dict(response.getheaders()), response.read()


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"NOT A REQUEST LINE\r\n\r\n", 400),
        (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET /health HTTP/1.1\r\n" + b"X-Filler: y\r\n" * 120 + b"\r\n", 431),
        (b"GET /health HTTP/1.1\r\nBad Header Name: v\r\n\r\n", 400),
    ],
    ids=["bad-request-line", "request-line-too-long", "too-many-headers", "bad-header"],
)
def test_gunicorns_own_errors_are_json(server, request_bytes, status):
    answered, headers, body = _raw_exchange(server, request_bytes)
    assert answered == status
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert set(json.loads(body)) == {"error"}


def test_gunicorn_does_not_echo_a_bad_request_line(server):
    secret = "signature=" + "ab" * 32
    _, _, body = _raw_exchange(server, f"GET /x?{secret} HTTP/1.1 extra\r\n\r\n".encode())
    assert secret not in body.decode()
