"""gunicorn's own error answers (bad request line, header too large, ...) as JSON.

gunicorn answers requests it cannot parse before any application code runs, with an HTML
page written by `gunicorn.util.write_error(sock, status, reason, message)`; it has no
setting for their format. gunicorn.conf.py's `post_worker_init` hook replaces that one
function in the worker with `write_json_error`, which keeps gunicorn's status and reason
and answers `{"error": "<reason>"}`, the shape the service uses outside the APIs. What the
client sent (it may hold a signed URL) is not echoed. docs/deploy.md lists what this cannot
reach (answers of Cloud Run's front end, connections gunicorn closes without a word).
"""

from __future__ import annotations

import json
import socket

from gunicorn import util


def write_json_error(sock: socket.socket, status_int: int, reason: str, _message: str) -> None:
    """Write gunicorn's error answer as a small JSON document and close the exchange."""
    body = json.dumps({"error": reason}).encode("utf-8")
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "Referrer-Policy: no-referrer\r\n"
        "Cache-Control: no-store\r\n"
        "\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


def answer_errors_as_json() -> None:
    """Make this gunicorn process write its own error answers as JSON."""
    util.write_error = write_json_error
