"""POST /api/v1/media/upload: typed by the bytes, bounded while streaming, undone on failure."""

from __future__ import annotations

import re

import pytest

from services.media.uploads import BANDWIDTH_MESSAGE, QUOTA_MESSAGE
from tests.blueprints.media.helpers import ELF, make_docx, make_pdf, upload
from tests.fixtures.failing import FailingStore
from tests.helpers import account
from tests.media import make_image, make_video

SEED_FIELDS = {
    "id", "file_name", "original_file_name", "file_type", "mime_type", "file_size", "url",
    "created_at", "context_type", "context_id", "is_public", "expires_at",
}  # fmt: skip
MIB = 1024 * 1024
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def media_docs(database, **query):
    return list(database["media"].find(query))


def assert_nothing_left(database, backend, owner="alice"):
    """No record, no object, no charge, no event: the upload left no trace."""
    assert media_docs(database) == []
    assert not any(backend.delete(name) for name in _media_objects(database))
    assert account(database, owner).get("used_bytes", 0) == 0
    assert account(database, owner).get("holds", {}) == {}
    assert list(database["outbox"].find({"type": "MediaUploaded"})) == []


def _media_objects(database):
    return [doc["object_name"] for doc in database["media"].find({})]


@pytest.mark.parametrize(
    ("fmt", "mime", "file_type", "ext"),
    [
        ("jpeg", "image/jpeg", "image", ".jpg"),
        ("png", "image/png", "image", ".png"),
        ("webp", "image/webp", "image", ".webp"),
        ("pdf", "application/pdf", "pdf", ".pdf"),
    ],
)
def test_upload_answers_201_with_the_seed_fields(
    media_client, backend, auth, database, fmt, mime, file_type, ext
):
    data = make_pdf() if fmt == "pdf" else make_image(fmt)
    response = upload(media_client, auth(), data, f"my {fmt} file.bin", context_type="ticket_photo")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) == SEED_FIELDS
    assert UUID.fullmatch(body["id"])
    assert body["mime_type"] == mime and body["file_type"] == file_type
    assert body["file_size"] == len(data)
    assert body["file_name"].endswith(ext) and body["id"].replace("-", "")[:12] in body["file_name"]
    assert body["original_file_name"] == f"my {fmt} file.bin"
    assert body["url"] == f"http://localhost/api/v1/media/{body['id']}"
    assert body["created_at"] == "2026-11-21T12:00:00Z"
    assert (body["context_type"], body["context_id"], body["is_public"]) == (
        "ticket_photo",
        None,
        False,
    )
    assert body["expires_at"] is None
    [doc] = media_docs(database)
    assert re.fullmatch(r"media/[0-9a-f]{32}/" + body["id"], doc["object_name"])
    assert b"".join(backend.read_range(doc["object_name"], 0, len(data) - 1)) == data
    assert account(database, "alice")["used_bytes"] == len(data)


def test_the_declared_type_and_the_name_do_not_decide(client, auth):
    response = upload(client, auth(), make_image("jpeg"), "photo.png", content_type="image/png")
    assert response.get_json()["mime_type"] == "image/jpeg"
    assert response.get_json()["file_name"].endswith(".jpg")


@pytest.mark.parametrize(
    ("data", "name", "declared"),
    [
        pytest.param(ELF, "photo.png", "image/png", id="executable-named-png"),
        pytest.param(b"MZ\x90\x00" + bytes(200), "photo.png", "image/png", id="windows-exe"),
        pytest.param(None, "photo.png", "image/png", id="mp4-declared-png"),
        pytest.param(b"%PDF-x not really", "doc.pdf", "application/pdf", id="fake-pdf-header"),
        pytest.param(b"<html><script>1</script>", "a.pdf", "application/pdf", id="html"),
    ],
)
def test_impostors_are_refused_with_415_and_leave_nothing(
    media_client, backend, auth, database, data, name, declared
):
    data = make_video("mp4") if data is None else data
    response = upload(media_client, auth(), data, name, content_type=declared)
    assert response.status_code == 415
    assert response.get_json()["detail"].startswith("Unsupported file type; allowed:")
    assert_nothing_left(database, backend)


def test_document_types_beyond_pdf_when_allowed(make_app, auth):
    app = make_app(
        ALLOWED_DOCUMENT_TYPES="application/pdf,"
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    client = app.test_client()
    body = upload(client, auth(), make_docx(), "report.docx").get_json()
    assert body["file_type"] == "document" and body["file_name"].endswith(".docx")
    assert upload(client, auth(), make_docx()).status_code == 201
    default = make_app().test_client()
    assert upload(default, auth(), make_docx()).status_code == 415


def test_a_type_the_service_cannot_recognise_is_a_config_error(make_app):
    from config import ConfigError

    with pytest.raises(ConfigError, match="ALLOWED_IMAGE_TYPES: cannot recognise image/gif"):
        make_app(ALLOWED_IMAGE_TYPES="image/png,image/gif")


def _image_of(size: int) -> bytes:
    """A PNG header followed by padding: sniffed as PNG, exactly `size` bytes."""
    head = make_image("png")
    return head + bytes(size - len(head))


@pytest.fixture
def one_mb_app(make_app, backend):
    return make_app(store_override=backend, MAX_FILE_SIZE_MB=1)


def test_a_file_of_exactly_the_limit_is_stored(one_mb_app, auth, database):
    response = upload(one_mb_app.test_client(), auth(), _image_of(MIB))
    assert response.status_code == 201 and response.get_json()["file_size"] == MIB


def test_one_byte_over_the_limit_is_413_and_nothing_remains(one_mb_app, backend, auth, database):
    response = upload(one_mb_app.test_client(), auth(), _image_of(MIB + 1))
    assert response.status_code == 413
    assert response.get_json() == {"detail": "File exceeds the maximum size of 1 MB"}
    assert_nothing_left(database, backend)


class CountingStore(FailingStore):
    """A real store that keeps its writers, to count what reached storage."""

    def __init__(self, store):
        super().__init__(store)
        self.writers = []

    def open_writer(self, name, content_type):
        writer = super().open_writer(name, content_type)
        self.writers.append(writer)
        return writer


def test_a_large_file_is_refused_before_more_than_the_limit_is_stored(
    make_app, store, auth, database
):
    counting = CountingStore(store)
    app = make_app(store_override=counting, MAX_FILE_SIZE_MB=1)
    response = upload(app.test_client(), auth(), _image_of(5 * MIB))
    assert response.status_code == 413
    assert sum(writer.written for writer in counting.writers) <= MIB
    assert account(database, "alice")["used_bytes"] == 0


@pytest.mark.parametrize(
    ("fields", "loc", "message"),
    [
        ({"context_type": "selfie"}, "context_type", "Must be one of"),
        ({"context_id": "not-a-uuid"}, "context_id", "Not a valid UUID."),
        ({"is_public": "maybe"}, "is_public", "Not a valid boolean."),
        ({"expires_in": "0"}, "expires_in", "Must be greater than or equal to 1"),
        ({"expires_in": "soon"}, "expires_in", "Not a valid integer."),
    ],
)
@pytest.mark.parametrize("where", ["before", "after"])
def test_bad_fields_are_422_naming_the_field_and_leave_nothing(
    client, store, auth, database, fields, loc, message, where
):
    placed = fields if where == "before" else {"after": fields}
    response = upload(client, auth(), make_image("png"), **placed)
    assert response.status_code == 422
    [detail] = response.get_json()["detail"]
    assert detail["loc"] == ["body", loc] and detail["msg"].startswith(message)
    assert_nothing_left(database, store)


def test_fields_after_the_file_are_kept(client, auth):
    context = "bb0e8400-e29b-41d4-a716-446655440000"
    body = upload(
        client,
        auth(),
        make_image("png"),
        after={"context_type": "website_media", "context_id": context, "is_public": "true"},
    ).get_json()
    assert (body["context_type"], body["context_id"], body["is_public"]) == (
        "website_media",
        context,
        True,
    )


def test_a_form_without_a_file_is_422(client, auth):
    response = client.post(
        "/api/v1/media/upload",
        data={"context_type": "other"},
        headers=auth(),
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert response.get_json()["detail"][0]["loc"] == ["body", "file"]


def test_a_body_that_is_not_multipart_is_422(client, auth):
    response = client.post("/api/v1/media/upload", json={"file": "x"}, headers=auth())
    assert response.status_code == 422


def test_expires_in_sets_expires_at(client, auth):
    body = upload(client, auth(), make_image("png"), expires_in="3600").get_json()
    assert body["expires_at"] == "2026-11-21T13:00:00Z"


def test_quota_refusal_is_403_in_this_apis_shape(make_app, store, auth, database):
    client = make_app(DEFAULT_STORAGE_QUOTA_BYTES=1000).test_client()
    response = upload(client, auth(), _image_of(2000))
    assert response.status_code == 403 and response.get_json() == {"detail": QUOTA_MESSAGE}
    assert_nothing_left(database, store)


def test_bandwidth_refusal_is_403_in_this_apis_shape(make_app, store, auth, database):
    client = make_app(DAILY_BANDWIDTH_LIMIT_BYTES=1000).test_client()
    response = upload(client, auth(), _image_of(2000))
    assert response.status_code == 403 and response.get_json() == {"detail": BANDWIDTH_MESSAGE}
    assert_nothing_left(database, store)


def test_media_and_videos_share_one_quota(make_app, auth, database):
    from tests.helpers import upload as upload_video
    from tests.media import make_video_of_size

    client = make_app(DEFAULT_STORAGE_QUOTA_BYTES=60_000).test_client()
    assert upload_video(client, auth(), make_video_of_size(50_000), "v.mp4").status_code == 200
    assert upload(client, auth(), _image_of(20_000)).status_code == 403
    assert upload(client, auth(), _image_of(10_000)).status_code == 201
    assert account(database, "alice")["used_bytes"] == 60_000


@pytest.mark.parametrize("fail", ["write", "commit"])
def test_a_storage_failure_mid_upload_leaves_nothing(
    make_app, store, backend, auth, database, fail
):
    broken = FailingStore(backend)
    if fail == "write":
        broken.fail_write_after = 100_000
    else:
        broken.fail_commit = True
    client = make_app(store_override=broken).test_client()
    response = upload(client, auth(), _image_of(3 * MIB))
    assert response.status_code == 503
    assert response.get_json() == {"detail": "Storage is temporarily unavailable"}
    assert_nothing_left(database, backend)


def test_upload_needs_a_token(client):
    response = upload(client, {}, make_image("png"))
    assert response.status_code == 401 and response.get_json() == {"detail": "Unauthorized"}


def test_twenty_uploads_a_minute_pass_and_the_21st_is_429(client, auth):
    image = make_image("png")
    for n in range(20):
        assert upload(client, auth("alice"), image).status_code == 201, n
    refused = upload(client, auth("alice"), image)
    assert refused.status_code == 429
    assert "Retry-After" in refused.headers and 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.get_json()["detail"].startswith("Too many requests")
    # Per user: someone else still uploads; and a refused token is 401, not counted.
    assert upload(client, auth("bob"), image).status_code == 201
    assert upload(client, {"Authorization": "Bearer nope"}, image).status_code == 401


def test_the_upload_limit_is_a_setting(make_app, auth):
    client = make_app(MEDIA_UPLOAD_RATE_LIMIT="2/minute").test_client()
    image = make_image("png")
    assert [upload(client, auth(), image).status_code for _ in range(3)] == [201, 201, 429]
