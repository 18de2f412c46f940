"""Request helpers of the part upload tests: the calls a client makes, in order."""

from __future__ import annotations

import hashlib
from typing import Any

from flask.testing import FlaskClient

API = "/api/multipart"


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def split(data: bytes, size: int) -> list[bytes]:
    """The data in parts of `size` bytes (the last one shorter)."""
    return [data[offset : offset + size] for offset in range(0, len(data), size)]


def create(client: FlaskClient, headers: dict, **body: Any):
    body.setdefault("filename", "recording.webm")
    return client.post(f"{API}/create/", json=body, headers=headers)


def presign(client: FlaskClient, headers: dict, session_id: str, number: Any):
    body = {"part_number": number}
    return client.post(f"{API}/{session_id}/presign/", json=body, headers=headers)


def put(client: FlaskClient, presigned: dict, data: bytes):
    """PUT a part to its signed URL as a browser would: only the headers the answer lists."""
    return client.put(presigned["presigned_url"], data=data, headers=presigned["headers"])


def register(client: FlaskClient, headers: dict, session_id: str, number: Any, etag: Any):
    body = {"part_number": number, "etag": etag}
    return client.post(f"{API}/{session_id}/register-part/", json=body, headers=headers)


def complete(client: FlaskClient, headers: dict, session_id: str, parts: Any):
    body = {} if parts is None else {"parts": parts}
    return client.post(f"{API}/{session_id}/complete/", json=body, headers=headers)


def status(client: FlaskClient, headers: dict, session_id: str):
    return client.get(f"{API}/{session_id}/status/", headers=headers)


def abort(client: FlaskClient, headers: dict, session_id: str):
    return client.post(f"{API}/{session_id}/abort/", headers=headers)


def send_part(client: FlaskClient, headers: dict, session_id: str, number: int, data: bytes) -> str:
    """Presign, PUT and register one part; returns its ETag as the PUT answered it."""
    signed = presign(client, headers, session_id, number)
    assert signed.status_code == 200, signed.get_json()
    answer = put(client, signed.get_json(), data)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    etag = answer.headers["ETag"]
    registered = register(client, headers, session_id, number, etag)
    assert registered.status_code == 200, registered.get_json()
    return etag


def upload_in_parts(
    client: FlaskClient, headers: dict, data: bytes, part_size: int, **create_body: Any
) -> tuple[str, list[dict]]:
    """Create a session and send every part; returns the session id and the parts list."""
    created = create(client, headers, **create_body)
    assert created.status_code == 201, created.get_json()
    session_id = created.get_json()["id"]
    listed = [
        {"part_number": number, "etag": send_part(client, headers, session_id, number, chunk)}
        for number, chunk in enumerate(split(data, part_size), start=1)
    ]
    return session_id, listed
