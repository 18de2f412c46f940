"""Every upload path decodes what it stored: impostors are 415 (bombs 413) and leave nothing.

Nothing left means: no object in the store, no record, no charge and no hold on the account.
"""

from __future__ import annotations

import pytest

from tests.blueprints.entities.test_create import entity_objects
from tests.blueprints.media.helpers import make_pdf
from tests.blueprints.media.helpers import upload as media_upload
from tests.blueprints.parts import flow
from tests.blueprints.parts.test_simple import send
from tests.fixtures.entities import create as entity_create
from tests.fixtures.entities import make_picture, send_form
from tests.helpers import account, multipart, stored_names
from tests.helpers import upload as video_upload
from tests.media import make_audio, make_ftyp_impostor, make_image, make_png_bomb, make_video

VIDEO_IMPOSTORS = {
    "ftyp-garbage": lambda: make_ftyp_impostor(8192),
    "audio-only-mp4": lambda: make_audio("mp4"),
    "audio-only-webm": lambda: make_audio("webm"),
    "audio-only-mkv": lambda: make_audio("mka"),
}
IMAGE_IMPOSTORS = {
    "truncated-jpeg": lambda: make_image("jpeg", (256, 192))[:600],
    "truncated-png": lambda: make_image("png", (64, 64))[:-40],
}


def stored_objects(store) -> list[str]:
    """Every object the local store holds (its hidden files are bookkeeping)."""
    return sorted(
        p.relative_to(store.root).as_posix()
        for p in store.root.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.parts)
    )


def assert_account_untouched(database, owner: str = "alice") -> None:
    state = account(database, owner)
    assert state.get("used_bytes", 0) == 0
    assert not state.get("holds")


@pytest.mark.parametrize("make", VIDEO_IMPOSTORS.values(), ids=VIDEO_IMPOSTORS.keys())
def test_video_upload_refuses_impostors(client, auth, database, store, make):
    response = video_upload(client, auth(), make(), "clip.mp4")
    assert response.status_code == 415, response.get_json()
    assert stored_names(database, "alice") == []
    assert stored_objects(store) == []
    assert_account_untouched(database)


def test_video_upload_still_takes_real_videos(client, auth, database):
    assert video_upload(client, auth(), make_video("webm"), "clip.webm").status_code == 200
    assert stored_names(database, "alice") == ["clip.webm"]


@pytest.mark.parametrize("make", VIDEO_IMPOSTORS.values(), ids=VIDEO_IMPOSTORS.keys())
def test_simple_part_upload_refuses_impostors(client, auth, database, store, make):
    response = send(client, auth(), multipart(make(), "rec.webm"))
    assert response.status_code == 415
    assert stored_names(database, "alice") == []
    assert stored_objects(store) == []
    assert_account_untouched(database)


@pytest.mark.parametrize("make", VIDEO_IMPOSTORS.values(), ids=VIDEO_IMPOSTORS.keys())
def test_completing_parts_of_an_impostor_is_415_and_composes_nothing(
    client, auth, database, store, make
):
    data = make()
    session_id, listed = flow.upload_in_parts(client, auth(), data, max(1, len(data) // 2))
    assert len(stored_objects(store)) == len(listed)
    response = flow.complete(client, auth(), session_id, listed)
    assert response.status_code == 415, response.get_json()
    assert stored_names(database, "alice") == []
    assert stored_objects(store) == []  # neither the composed object nor the parts
    assert flow.status(client, auth(), session_id).get_json()["status"] == "aborted"
    assert_account_untouched(database)


def test_completing_parts_of_a_real_video_still_lands_it(client, auth, database):
    data = make_video("mp4", seconds=2.0)
    session_id, listed = flow.upload_in_parts(client, auth(), data, len(data) // 3 + 1)
    assert flow.complete(client, auth(), session_id, listed).status_code == 200
    assert stored_names(database, "alice") == ["recording.webm"]


MEDIA_IMPOSTORS = {
    **IMAGE_IMPOSTORS,
    "fake-pdf": lambda: b"%PDF-1.7\n" + b"no objects, no xref, no trailer " * 100,
    "truncated-pdf": lambda: make_pdf()[:80],
}


@pytest.mark.parametrize("make", MEDIA_IMPOSTORS.values(), ids=MEDIA_IMPOSTORS.keys())
def test_media_upload_refuses_impostors(client, auth, database, store, make):
    response = media_upload(client, auth(), make(), "file.bin")
    assert response.status_code == 415, response.get_json()
    assert list(database["media"].find({})) == []
    assert stored_objects(store) == []
    assert_account_untouched(database)
    assert list(database["outbox"].find({"type": "MediaUploaded"})) == []


def test_media_upload_answers_an_image_bomb_with_413(client, auth, database, store):
    response = media_upload(client, auth(), make_png_bomb(), "bomb.png")
    assert response.status_code == 413
    assert list(database["media"].find({})) == []
    assert stored_objects(store) == []
    assert_account_untouched(database)


@pytest.mark.parametrize(
    "make", [make_pdf, lambda: make_image("jpeg", (64, 64))], ids=["pdf", "jpeg"]
)
def test_media_upload_still_takes_real_files(client, auth, make):
    assert media_upload(client, auth(), make(), "file.bin").status_code == 201


ENTITY_IMPOSTORS = {**VIDEO_IMPOSTORS, **IMAGE_IMPOSTORS, "image-bomb": make_png_bomb}


@pytest.fixture
def entity_client(make_app):
    return make_app(AUTH_DISABLED=True).test_client()


@pytest.mark.parametrize("make", ENTITY_IMPOSTORS.values(), ids=ENTITY_IMPOSTORS.keys())
def test_entity_create_refuses_impostors(entity_client, database, store, make):
    response = entity_create(entity_client, make(), label="x")
    assert response.status_code == (413 if make is make_png_bomb else 415), response.get_json()
    assert list(database["entities"].find({})) == []
    assert entity_objects(store) == []


@pytest.mark.parametrize("make", ENTITY_IMPOSTORS.values(), ids=ENTITY_IMPOSTORS.keys())
def test_entity_update_refuses_impostors_and_keeps_the_old_file(
    entity_client, database, store, make
):
    entity = entity_create(entity_client, make_picture("PNG", (8, 6)), label="x").get_json()
    fields = {"is_collection": "false", "label": "y"}
    response = send_form(entity_client, "PUT", f"/entity/{entity['id']}", fields, make())
    assert response.status_code == (413 if make is make_png_bomb else 415), response.get_json()
    assert len(entity_objects(store)) == 1  # the old file alone
    current = entity_client.get(f"/entity/{entity['id']}").get_json()
    assert (current["label"], current["md5"]) == ("x", entity["md5"])
