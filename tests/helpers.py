"""Small request helpers shared by the blueprint tests."""

from __future__ import annotations

import io

from flask.testing import FlaskClient

BOUNDARY = "------------------------mediastoretestboundary"


def multipart(
    data: bytes, name: str, field: str = "file", content_type: str = "video/mp4"
) -> bytes:
    """A multipart/form-data body with one file part, laid out as curl -F sends it."""
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{field}"; '
        f'filename="{quoted}"\r\nContent-Type: {content_type}\r\n\r\n'
    )
    return head.encode("utf-8") + data + f"\r\n--{BOUNDARY}--\r\n".encode()


def upload(client: FlaskClient, headers: dict[str, str], data: bytes, name: str = "video.mp4"):
    """POST /upload with one multipart file field."""
    return client.post(
        "/upload",
        data=io.BytesIO(multipart(data, name)),
        headers={**headers, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )


def stored_names(database, owner: str) -> list[str]:
    """File names the metadata store holds for an owner, in any state."""
    return sorted(doc["filename"] for doc in database["files"].find({"owner": owner}))


def account(database, owner: str) -> dict:
    return database["accounts"].find_one({"_id": owner}) or {}
