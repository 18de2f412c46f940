"""POST /entity/: collections, images and videos with their metadata, and every refusal."""

from __future__ import annotations

import hashlib
import threading
from typing import Any

import pytest

from services.entities.changes import IMAGE_REFUSED
from tests.fixtures.entities import (
    create,
    exif_with,
    make_dated_video,
    make_picture,
    send_form,
    video,
)
from tests.fixtures.failing import RendezvousCollection
from tests.media import make_audio

ITEM_KEYS = {
    "id", "is_collection", "label", "description", "parent_id", "added_date", "updated_date",
    "create_date", "file_size", "height", "width", "duration", "mime_type", "type",
    "extension", "md5", "file_path", "is_deleted", "added_by", "updated_by",
}  # fmt: skip


def entity_objects(store) -> list[str]:
    """Names of the objects the store holds under entities/."""
    root = store.root / "entities"
    if not root.exists():
        return []
    return sorted(
        p.relative_to(store.root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    )


def test_a_collection_is_created_as_version_one_with_every_item_field(client):
    response = create(client, label="Holidays", description="2024")

    assert response.status_code == 201
    item = response.get_json()
    assert set(item) == ITEM_KEYS
    assert item["id"] == 1 and item["is_collection"] is True
    assert (item["label"], item["description"], item["parent_id"]) == ("Holidays", "2024", None)
    assert item["added_date"] == item["updated_date"] == "2026-11-21T12:00:00Z"
    file_fields = ("create_date", "file_size", "mime_type", "type", "md5", "file_path")
    assert all(item[name] is None for name in file_fields)
    assert item["is_deleted"] is False and item["added_by"] is None


def test_a_jpeg_gets_its_size_type_md5_path_and_exif_date(client):
    data = make_picture("JPEG", (40, 30), exif=exif_with(original="2023:01:02 03:04:05"))

    item = create(client, data, label="Beach").get_json()

    md5 = hashlib.md5(data).hexdigest()
    assert (item["width"], item["height"], item["file_size"]) == (40, 30, len(data))
    assert (item["mime_type"], item["type"], item["extension"]) == ("image/jpeg", "image", "jpg")
    assert item["md5"] == md5
    assert item["file_path"] == f"2026/11/21/{md5}.jpg"
    assert item["create_date"] == "2023-01-02T03:04:05Z"
    assert item["duration"] is None


@pytest.mark.parametrize(
    ("fmt", "mime", "extension"),
    [("PNG", "image/png", "png"), ("WEBP", "image/webp", "webp"), ("GIF", "image/gif", "gif")],
)
def test_png_webp_and_gif_are_accepted_with_their_size(client, fmt, mime, extension):
    item = create(client, make_picture(fmt, (17, 9))).get_json()

    assert (item["mime_type"], item["type"], item["extension"]) == (mime, "image", extension)
    assert (item["width"], item["height"]) == (17, 9)


def test_an_mp4_gets_its_duration_size_and_creation_time(client):
    data = make_dated_video("mp4", "2021-03-04T05:06:07.000000Z")

    item = create(client, data).get_json()

    assert (item["mime_type"], item["type"], item["extension"]) == ("video/mp4", "video", "mp4")
    assert (item["width"], item["height"]) == (32, 24)
    assert item["duration"] == pytest.approx(1.0, abs=0.11)
    assert item["create_date"] == "2021-03-04T05:06:07Z"


def test_a_webm_gets_its_duration_and_size(client):
    item = create(client, video("webm", seconds=2.0, size=(64, 48))).get_json()

    assert (item["mime_type"], item["extension"]) == ("video/webm", "webm")
    assert (item["width"], item["height"]) == (64, 48)
    assert item["duration"] == pytest.approx(2.0, abs=0.11)
    assert item["create_date"] is None


def test_the_file_may_come_before_the_text_fields(client):
    data = make_picture("PNG")
    fields = {"is_collection": "false", "label": "late fields"}

    response = send_form(client, "POST", "/entity/", fields, data, image_first=True)

    assert response.status_code == 201
    assert response.get_json()["label"] == "late fields"


def test_a_collection_may_be_created_from_an_urlencoded_form(client):
    response = client.post("/entity/", data={"is_collection": "true", "label": "plain"})

    assert response.status_code == 201
    assert response.get_json()["label"] == "plain"


def test_a_file_is_required_unless_a_collection(client, store):
    response = create(client, None, is_collection="false")

    assert response.status_code == 400
    assert response.get_json() == {"detail": "Image is required when is_collection is False"}


def test_a_collection_refuses_a_file_and_keeps_nothing(client, store):
    response = create(client, make_picture(), is_collection="true")

    assert response.status_code == 400
    assert response.get_json() == {"detail": IMAGE_REFUSED}
    assert entity_objects(store) == []


def test_the_same_bytes_again_are_a_409_naming_the_holder(client, store):
    data = make_picture()
    first = create(client, data).get_json()

    response = create(client, data)

    assert response.status_code == 409
    assert response.get_json() == {
        "detail": f"File with MD5 {first['md5']} already exists (entity ID: {first['id']})"
    }
    assert len(entity_objects(store)) == 1


def test_a_soft_deleted_entity_still_holds_its_bytes(client):
    data = make_picture()
    first = create(client, data).get_json()
    client.patch(f"/entity/{first['id']}", json={"body": {"is_deleted": True}})

    assert create(client, data).status_code == 409


@pytest.mark.parametrize(
    "data", [b"just text\n" * 100, make_audio("m4a")], ids=["text", "audio-only"]
)
def test_what_is_neither_an_image_nor_a_video_is_415(client, store, data):
    response = create(client, data)

    assert response.status_code == 415
    assert "detail" in response.get_json()
    assert entity_objects(store) == []


def test_a_file_over_entity_max_file_bytes_is_413_and_not_kept(make_app, store):
    client = make_app(AUTH_DISABLED=True, ENTITY_MAX_FILE_BYTES=4000).test_client()

    response = create(client, video("mp4", seconds=3.0, size=(160, 120)))

    assert response.status_code == 413
    assert "detail" in response.get_json()
    assert entity_objects(store) == []


@pytest.mark.parametrize(
    ("fields", "field", "kind"),
    [
        ({"label": "x"}, "is_collection", "missing"),
        ({"is_collection": "perhaps"}, "is_collection", "value_error"),
        ({"is_collection": "true", "parent_id": "one"}, "parent_id", "value_error"),
    ],
)
def test_form_fields_are_validated_in_fastapis_shape(client, fields, field, kind):
    response = send_form(client, "POST", "/entity/", fields)

    assert response.status_code == 422
    [detail] = response.get_json()["detail"]
    assert detail["loc"] == ["body", field] and detail["type"] == kind


def test_an_unexpected_form_part_is_refused(client):
    body = (
        b'------b\r\nContent-Disposition: form-data; name="other"; filename="x"\r\n\r\nxx\r\n'
        b"------b--\r\n"
    )
    response = client.post(
        "/entity/", data=body, headers={"Content-Type": "multipart/form-data; boundary=----b"}
    )

    assert response.status_code == 400
    assert response.get_json() == {"detail": "Unexpected form field 'other'"}


class OnceRendezvous(RendezvousCollection):
    """A RendezvousCollection whose callers meet once: retries after the race go straight on."""

    def __init__(self, collection: Any, method: str, parties: int) -> None:
        super().__init__(collection, method, parties)
        self.calls = 0
        self.lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        if name == self.method:
            with self.lock:
                self.calls += 1
                if self.calls > self.barrier.parties:
                    return getattr(self.collection, name)
        return super().__getattr__(name)


class RacingDatabase:
    """The test database, with one collection's method making two callers meet first."""

    def __init__(self, database: Any, collection: str, method: str) -> None:
        self.database = database
        self.racing = OnceRendezvous(database[collection], method, parties=2)
        self.collection = collection

    def __getitem__(self, name: str) -> Any:
        return self.racing if name == self.collection else self.database[name]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.database, name)


def test_two_racing_uploads_of_the_same_bytes_give_one_201_and_one_409(make_app, database, store):
    racing = RacingDatabase(database, "entities", "insert_one")
    app = make_app(database_override=racing, AUTH_DISABLED=True)
    data = make_picture("PNG", (33, 33))
    answers: list[Any] = []

    def upload() -> None:
        answers.append(create(app.test_client(), data))

    threads = [threading.Thread(target=upload) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(answer.status_code for answer in answers) == [201, 409]
    winner = next(answer.get_json() for answer in answers if answer.status_code == 201)
    loser = next(answer.get_json() for answer in answers if answer.status_code == 409)
    assert loser["detail"] == (
        f"File with MD5 {winner['md5']} already exists (entity ID: {winner['id']})"
    )
    assert len(entity_objects(store)) == 1  # the loser's object is gone
    assert database["entity_uploads"].count_documents({}) == 0
