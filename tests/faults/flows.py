"""Every multi-step operation of every API as a flow: set-up, the request under test, its effect.

A flow's `act` is the one request a fault is injected into; `prepare` runs before the fault
is armed; `done` says whether the request's effect is in place and whole (the bytes read
back, the record gone, ...). After a fault and the recovery, a flow whose effect is not in
place is retried once, and must then succeed: that is "nothing lost".
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from flask import Flask
from flask.testing import FlaskClient

from tests.blueprints.media.helpers import upload as media_upload
from tests.blueprints.parts import flow as parts
from tests.fixtures.entities import create as entity_create
from tests.fixtures.entities import make_picture, send_form
from tests.helpers import BOUNDARY, upload
from tests.media import make_image, make_video_of_size

VIDEO = make_video_of_size(300_000)
PNG = make_image("png")
PICTURE_A = make_picture(color=(200, 30, 30))
PICTURE_B = make_picture(color=(30, 200, 30))
PART = 100_000
INVOICE = {
    "invoice_id": "990e8400-e29b-41d4-a716-446655440000",
    "invoice_number": "FY26-27-INV-000042",
    "invoice_data": {
        "invoice_date": "2026-04-01",
        "subscriber": {"name": "Asha Verma", "address": ["12 MG Road"], "email": "a@example.com"},
        "line_items": [{"description": "Fibre", "quantity": 1, "unit_price": 999, "amount": 999}],
        "totals": {"total": "999.00"},
    },
}
INVOICE_PATH = "/api/v1/media/invoices/generate-pdf"


@dataclass
class Ctx:
    """What a flow works with: the app, a client, the callers' headers and what set-up left."""

    app: Flask
    client: FlaskClient
    user: dict[str, str]
    internal: dict[str, str]
    rig: Any = None  # the screenshot rig (registry, edge, its outbox), when the flow needs it
    kept: dict[str, Any] = field(default_factory=dict)
    # PUT a part to its signed URL, return its ETag: through the app for the local store.
    put_part: Callable[[Ctx, dict, bytes], str] = lambda ctx, signed, data: put_through_app(
        ctx, signed, data
    )


def put_through_app(ctx: Ctx, signed: dict, data: bytes) -> str:
    """PUT a part to the local store's signed URL (served by the app); its ETag."""
    answer = parts.put(ctx.client, signed, data)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.headers["ETag"]


def send_parts(ctx: Ctx, session: str, data: bytes) -> list[dict]:
    """Presign, PUT and register each part of the data; the parts list complete wants."""
    listed = []
    for number, chunk in enumerate(parts.split(data, PART), start=1):
        signed = parts.presign(ctx.client, ctx.user, session, number)
        assert signed.status_code == 200, signed.get_json()
        etag = ctx.put_part(ctx, signed.get_json(), chunk)
        registered = parts.register(ctx.client, ctx.user, session, number, etag)
        assert registered.status_code == 200, registered.get_json()
        listed.append({"part_number": number, "etag": etag})
    return listed


@dataclass(frozen=True)
class Flow:
    """One operation: `act` answers one of `ok` when it succeeds, `done` checks its effect."""

    name: str
    act: Callable[[Ctx], Any]
    done: Callable[[Ctx], bool]
    ok: tuple[int, ...]
    prepare: Callable[[Ctx], None] = lambda ctx: None
    retry_ok: tuple[int, ...] = ()  # what a retry may also answer (say 409: it is there)

    def __str__(self) -> str:
        return self.name


def _reads_back(client: FlaskClient, url: str, headers: dict[str, str], data: bytes) -> bool:
    response = client.get(url, headers=headers)
    return response.status_code == 200 and response.data == data


# Videos (seed 003).


def _upload_video(ctx: Ctx):
    return upload(ctx.client, ctx.user, VIDEO, "clip.mp4")


def _video_stored(ctx: Ctx) -> bool:
    return _reads_back(ctx.client, "/stream/video/clip.mp4", ctx.user, VIDEO)


def _delete_video(ctx: Ctx):
    return ctx.client.delete("/delete-file", json={"filename": "clip.mp4"}, headers=ctx.user)


def _video_gone(ctx: Ctx) -> bool:
    return ctx.client.get("/stream/video/clip.mp4", headers=ctx.user).status_code == 404


def _prepare_video(ctx: Ctx) -> None:
    assert _upload_video(ctx).status_code == 200


# Media (seed 001).


def _upload_media(ctx: Ctx):
    response = media_upload(ctx.client, ctx.user, PNG, "photo.png")
    if response.status_code == 201:
        ctx.kept["media_id"] = response.get_json()["id"]
    return response


def _media_stored(ctx: Ctx) -> bool:
    media_id = ctx.kept.get("media_id")
    if media_id is None:
        return False
    return _media_reads_back(ctx.client, media_id, ctx.user) == PNG


def _media_reads_back(client: FlaskClient, media_id: str, headers: dict[str, str]) -> bytes | None:
    """The bytes behind a media record's download URL; None when it is not there."""
    described = client.get(f"/api/v1/media/{media_id}", headers=headers)
    if described.status_code != 200:
        return None
    download = client.get(described.get_json()["download_url"].removeprefix("http://localhost"))
    return download.data if download.status_code == 200 else None


def _generate_invoice(ctx: Ctx):
    response = ctx.client.post(INVOICE_PATH, json=INVOICE, headers=ctx.internal)
    if response.status_code in (200, 201):
        ctx.kept["invoice"] = response.get_json()["id"]
    return response


def _invoice_stored(ctx: Ctx) -> bool:
    first = ctx.client.post(INVOICE_PATH, json=INVOICE, headers=ctx.internal)
    if first.status_code != 200:  # 201 would mean it was not there (now it is: a repeat)
        return False
    data = _media_reads_back(ctx.client, first.get_json()["id"], ctx.internal)
    return data is not None and data.startswith(b"%PDF-")


# Part uploads.


def _create_session(ctx: Ctx):
    response = parts.create(ctx.client, ctx.user, size=len(VIDEO))
    if response.status_code == 201:
        ctx.kept["session"] = response.get_json()["id"]
    return response


def _session_open(ctx: Ctx) -> bool:
    session = ctx.kept.get("session")
    if session is None:
        return False
    return parts.status(ctx.client, ctx.user, session).get_json().get("status") == "uploading"


def _prepare_parts(ctx: Ctx) -> None:
    created = parts.create(ctx.client, ctx.user, size=len(VIDEO))
    session = ctx.kept["session"] = created.get_json()["id"]
    ctx.kept["parts"] = send_parts(ctx, session, VIDEO)


def _complete(ctx: Ctx):
    return parts.complete(ctx.client, ctx.user, ctx.kept["session"], ctx.kept["parts"])


def _completed(ctx: Ctx) -> bool:
    return _reads_back(ctx.client, "/stream/video/recording.webm", ctx.user, VIDEO)


def _prepare_abort(ctx: Ctx) -> None:
    session = parts.create(ctx.client, ctx.user, size=len(VIDEO)).get_json()["id"]
    send_parts(ctx, session, VIDEO[:PART])
    ctx.kept["session"] = session


def _abort(ctx: Ctx):
    return parts.abort(ctx.client, ctx.user, ctx.kept["session"])


def _aborted(ctx: Ctx) -> bool:
    answer = parts.status(ctx.client, ctx.user, ctx.kept["session"])
    return answer.status_code == 404 or answer.get_json().get("status") == "aborted"


# Entities (seed 004, demo mode: no token).


def _create_entity(ctx: Ctx):
    response = entity_create(ctx.client, PICTURE_A, label="sunset")
    if response.status_code == 201:
        ctx.kept["entity"] = response.get_json()["id"]
    return response


def _entity_created(ctx: Ctx) -> bool:
    """The entity is there with its file, found by its label when its answer was lost."""
    if "entity" not in ctx.kept:
        listed = ctx.client.get("/entity/").get_json()
        found = [item["id"] for item in listed["items"] if item["label"] == "sunset"]
        if len(found) != 1:
            return False
        ctx.kept["entity"] = found[0]
    return _entity_file_is(ctx, PICTURE_A)


def _entity_file_is(ctx: Ctx, data: bytes) -> bool:
    entity = ctx.kept.get("entity")
    return entity is not None and _reads_back(ctx.client, f"/entity/{entity}/file", {}, data)


def _prepare_entity(ctx: Ctx) -> None:
    assert _create_entity(ctx).status_code == 201


def _update_entity(ctx: Ctx):
    fields = {"is_collection": "false", "label": "sunrise"}
    return send_form(ctx.client, "PUT", f"/entity/{ctx.kept['entity']}", fields, PICTURE_B)


def _delete_entity(ctx: Ctx):
    return ctx.client.delete(f"/entity/{ctx.kept['entity']}")


def _entity_gone(ctx: Ctx) -> bool:
    return ctx.client.get(f"/entity/{ctx.kept['entity']}").status_code == 404


# Screenshots (seed 000): a peer's upload with the one-time token the service offered it.


def _prepare_screenshots(ctx: Ctx) -> None:
    ctx.kept["token"] = ctx.rig.offer()["p1"]


def _upload_screenshots(ctx: Ctx):
    body = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; '
            f'filename="shot0.png"\r\nContent-Type: image/png\r\n\r\n'
        ).encode()
        + PNG
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    headers = {
        "Authorization": f"Bearer {ctx.kept['token']}",
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
    }
    return ctx.client.post("/api/screenshot/c1", data=io.BytesIO(body), headers=headers)


def _screenshots_stored(ctx: Ctx) -> bool:
    listed = ctx.client.get("/api/screenshot/c1", headers=ctx.user)
    urls = (listed.get_json() or {}).get("screenshot_urls") or []
    return len(urls) == 1 and _fetch(ctx, urls[0]) == PNG


def _fetch(ctx: Ctx, url: str) -> bytes:
    """A signed URL's bytes: the app serves the local store's, the emulator GCS's."""
    if url.startswith("http://localhost/"):
        return ctx.client.get(url.removeprefix("http://localhost")).data
    return requests.get(url, timeout=10).content


FLOWS = [
    Flow("video-upload", _upload_video, _video_stored, (200,), retry_ok=(409,)),
    Flow("video-delete", _delete_video, _video_gone, (200,), _prepare_video, retry_ok=(404,)),
    Flow("media-upload", _upload_media, _media_stored, (201,)),
    Flow("invoice", _generate_invoice, _invoice_stored, (201,), retry_ok=(200,)),
    Flow("part-create", _create_session, _session_open, (201,)),
    Flow("part-complete", _complete, _completed, (200,), _prepare_parts),
    Flow("part-abort", _abort, _aborted, (200, 204), _prepare_abort),
    Flow("entity-create", _create_entity, _entity_created, (201,), retry_ok=(409,)),
    Flow(
        "entity-update",
        _update_entity,
        lambda c: _entity_file_is(c, PICTURE_B),
        (200,),
        _prepare_entity,
    ),
    Flow("entity-delete", _delete_entity, _entity_gone, (200,), _prepare_entity, retry_ok=(404,)),
    Flow(
        "screenshot-upload",
        _upload_screenshots,
        _screenshots_stored,
        (200,),
        _prepare_screenshots,
        retry_ok=(403,),  # the failed try spent the token: housekeeping finishes its upload
    ),
]


def named(name: str) -> Flow:
    """The flow of that name."""
    [flow] = [flow for flow in FLOWS if flow.name == name]
    return flow
