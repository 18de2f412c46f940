"""No secret in logs: the servers' request lines are redacted; the session-wide scan can fail."""

from __future__ import annotations

import logging

import pytest
import requests

from app.logging import redact_secrets
from tests.fixtures.live import serve
from tests.fixtures.log_secrets import SessionLogs, find_secrets
from tests.helpers import upload
from tests.media import make_video_of_size

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"


REQUEST_LINES = [
    f"GET /x?expires=1&signature={'ab' * 32} HTTP/1.1",
    f"GET /api/v1/media/1/download?token={'Zm9v' * 8} HTTP/1.1",
    f"GET /b/o?X-Goog-Algorithm=GOOG4&X-Goog-Signature={'0f' * 64}",
    f"Authorization: Bearer {JWT}",
]


@pytest.mark.parametrize("line", [*REQUEST_LINES, f"token was {JWT}"])
def test_the_scan_finds_each_kind_of_secret(line):
    assert find_secrets(line)


@pytest.mark.parametrize("line", REQUEST_LINES)
def test_redaction_removes_query_credentials_and_bearer_tokens(line):
    assert not find_secrets(redact_secrets(line))
    assert "[redacted]" in redact_secrets(line)


def test_the_scan_finds_minted_tokens_and_files(tmp_path):
    logs = SessionLogs()
    log = tmp_path / "server.log"
    log.write_text("a harmless line\nthe token opaque-secret-1234 leaked\n")
    logs.watch_file(log)
    logs.remember_token("opaque-secret-1234")
    logs.emit(logging.makeLogRecord({"msg": "all fine", "levelno": logging.INFO}))
    assert [leak.split(":")[0] for leak in logs.leaks()] == ["minted token"]


def test_request_lines_of_the_development_server_are_redacted(app, client, auth, session_logs):
    upload(client, auth(), make_video_of_size(2000), "a.mp4")
    signed = client.get("/stream/direct/a.mp4", headers=auth()).get_json()
    url = next(
        value for value in signed.values() if isinstance(value, str) and "signature=" in value
    )
    path = url.split("://", 1)[1].split("/", 1)[1]
    before = len(session_logs.lines)
    with serve(app) as base:
        assert requests.get(f"{base}/{path}", timeout=10).status_code == 200
    request_lines = [line for line in session_logs.lines[before:] if "signature=" in line]
    assert request_lines  # werkzeug's request line, with its query
    assert all("signature=[redacted]" in line for line in request_lines)
    assert not any(find_secrets(line) for line in session_logs.lines[before:])
