"""Requests against the media API, as its clients send them."""

from __future__ import annotations

import io
import zipfile

from flask.testing import FlaskClient

BOUNDARY = "mediaapiboundary"


def form(
    data: bytes,
    name: str = "photo.png",
    *,
    before: dict[str, str] | None = None,
    after: dict[str, str] | None = None,
    content_type: str = "application/octet-stream",
) -> bytes:
    """A multipart body: text fields, the file, then more text fields."""

    def field(key: str, value: str) -> bytes:
        head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'
        return head.encode() + value.encode() + b"\r\n"

    body = b"".join(field(k, v) for k, v in (before or {}).items())
    body += (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        + data
        + b"\r\n"
    )
    body += b"".join(field(k, v) for k, v in (after or {}).items())
    return body + f"--{BOUNDARY}--\r\n".encode()


def upload(client: FlaskClient, headers: dict, data: bytes, name: str = "photo.png", **fields):
    """POST /api/v1/media/upload; `fields` go before the file (after=... for after)."""
    after = fields.pop("after", None)
    content_type = fields.pop("content_type", "application/octet-stream")
    body = form(data, name, before=fields, after=after, content_type=content_type)
    return client.post(
        "/api/v1/media/upload",
        data=io.BytesIO(body),
        headers={**headers, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )


def uploaded_id(client: FlaskClient, headers: dict, data: bytes, **fields) -> str:
    response = upload(client, headers, data, **fields)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def path_of(url: str) -> str:
    """The path and query of an absolute URL the API answered (the test client's host)."""
    return url.removeprefix("http://localhost")


def make_pdf(extra: bytes = b"") -> bytes:
    """A small, valid one-page PDF."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue() + extra


def make_docx() -> bytes:
    """A minimal Office Open XML word document (what Word writes first, first)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships/>')
        archive.writestr("word/document.xml", '<?xml version="1.0"?><w:document/>')
    return out.getvalue()


ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(120)
