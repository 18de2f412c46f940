"""GET, download and DELETE of one file: owners, admins, token holders, everyone else."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.blueprints.media.helpers import make_docx, make_pdf, path_of, uploaded_id
from tests.helpers import account
from tests.media import make_image

NOT_FOUND = {"detail": "Media not found"}
MISSING = "3fa85f64-5717-4562-b3fc-2c963f66afa6"


@pytest.fixture
def image():
    return make_image("png", size=(64, 64))


@pytest.fixture
def stored(media_client, auth, image):
    """Alice's private image: (id, the GET answer)."""
    media_id = uploaded_id(media_client, auth("alice"), image, context_type="ticket_photo")
    return media_id, media_client.get(f"/api/v1/media/{media_id}", headers=auth("alice")).get_json()


def test_get_gives_the_fields_and_a_download_url(stored):
    media_id, body = stored
    assert body["id"] == media_id and body["file_type"] == "image"
    assert body["download_url"].startswith(
        f"http://localhost/api/v1/media/{media_id}/download?token="
    )
    assert body["url"] == f"http://localhost/api/v1/media/{media_id}"


def test_urls_use_public_base_url_when_configured(make_app, auth, image):
    client = make_app(PUBLIC_BASE_URL="https://media.example.com/").test_client()
    media_id = uploaded_id(client, auth(), image)
    body = client.get(f"/api/v1/media/{media_id}", headers=auth()).get_json()
    assert body["url"] == f"https://media.example.com/api/v1/media/{media_id}"
    assert body["download_url"].startswith(
        f"https://media.example.com/api/v1/media/{media_id}/download?token="
    )


def test_the_download_url_works_without_authorization(media_client, stored, image):
    _, body = stored
    response = media_client.get(path_of(body["download_url"]))
    assert response.status_code == 200 and response.data == image
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Content-Length"] == str(len(image))
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"] == 'inline; filename="photo.png"'
    assert response.headers["ETag"].startswith('"')


def test_download_serves_single_ranges_and_416(media_client, stored, image):
    _, body = stored
    url = path_of(body["download_url"])
    part = media_client.get(url, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.data == image[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{len(image)}"
    beyond = media_client.get(url, headers={"Range": f"bytes={len(image)}-"})
    assert beyond.status_code == 416 and beyond.is_json
    etag = part.headers["ETag"]
    assert media_client.get(url, headers={"If-None-Match": etag}).status_code == 304


def test_the_owner_downloads_with_a_bearer_token(media_client, stored, auth, image):
    media_id, _ = stored
    response = media_client.get(f"/api/v1/media/{media_id}/download", headers=auth("alice"))
    assert response.status_code == 200 and response.data == image


def test_a_document_is_offered_as_an_attachment(make_app, auth):
    app = make_app(
        ALLOWED_DOCUMENT_TYPES="application/pdf,"
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    client = app.test_client()
    media_id = uploaded_id(client, auth(), make_docx(), name="Q3 report.docx")
    response = client.get(f"/api/v1/media/{media_id}/download", headers=auth())
    assert response.headers["Content-Disposition"] == 'attachment; filename="Q3 report.docx"'
    pdf_id = uploaded_id(client, auth(), make_pdf(), name="a.pdf")
    pdf = client.get(f"/api/v1/media/{pdf_id}/download", headers=auth())
    assert pdf.headers["Content-Disposition"].startswith("inline;")


def _token(body: dict) -> str:
    return body["download_url"].split("?token=", 1)[1]


def test_a_token_for_another_file_is_403(media_client, stored, auth, image):
    _, body = stored
    other = uploaded_id(media_client, auth("alice"), image)
    response = media_client.get(f"/api/v1/media/{other}/download?token={_token(body)}")
    assert response.status_code == 403
    assert response.get_json() == {"detail": "Invalid or expired download token"}


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
        lambda t: str(int(t.split(".")[0]) + 3600) + "." + t.split(".")[1],
        lambda t: t.split(".")[1],
        lambda t: "",
        lambda t: "x" * 5000,
    ],
    ids=["signature", "expiry", "no-expiry", "empty", "long"],
)
def test_a_tampered_token_is_403(media_client, stored, tamper):
    media_id, body = stored
    response = media_client.get(f"/api/v1/media/{media_id}/download?token={tamper(_token(body))}")
    assert response.status_code == 403


def test_an_expired_token_is_403_by_the_service_clock(media_client, stored, clock):
    _, body = stored
    url = path_of(body["download_url"])
    clock.advance(seconds=899)
    assert media_client.get(url).status_code == 200
    clock.advance(seconds=2)
    assert media_client.get(url).status_code == 403


def test_a_token_for_a_deleted_file_is_404(media_client, stored, auth):
    media_id, body = stored
    assert (
        media_client.delete(f"/api/v1/media/{media_id}", headers=auth("alice")).status_code == 204
    )
    assert media_client.get(path_of(body["download_url"])).status_code == 404


def test_a_public_file_downloads_for_anyone(client, auth, image):
    media_id = uploaded_id(client, auth("alice"), image, is_public="true")
    assert client.get(f"/api/v1/media/{media_id}/download").data == image
    assert client.get(f"/api/v1/media/{media_id}/download", headers=auth("bob")).data == image
    # Public means downloadable, not manageable: metadata and delete stay the owner's.
    assert client.get(f"/api/v1/media/{media_id}", headers=auth("bob")).status_code == 404
    assert client.delete(f"/api/v1/media/{media_id}", headers=auth("bob")).status_code == 404


def test_anonymous_download_of_a_private_or_missing_file_is_the_same_401(client, stored):
    media_id, _ = stored
    private = client.get(f"/api/v1/media/{media_id}/download")
    missing = client.get(f"/api/v1/media/{MISSING}/download")
    assert private.status_code == missing.status_code == 401
    assert private.get_json() == missing.get_json() == {"detail": "Unauthorized"}


def test_a_bad_bearer_token_on_download_is_401_even_for_a_public_file(client, auth, image):
    media_id = uploaded_id(client, auth(), image, is_public="true")
    headers = {"Authorization": "Bearer nope"}
    assert client.get(f"/api/v1/media/{media_id}/download", headers=headers).status_code == 401


@pytest.mark.parametrize("media_id", [MISSING, "not-a-uuid", "x" * 300])
def test_missing_or_malformed_ids_are_404(client, auth, media_id):
    for method in ("get", "delete"):
        response = getattr(client, method)(f"/api/v1/media/{media_id}", headers=auth())
        assert response.status_code == 404 and response.get_json() == NOT_FOUND
    download = client.get(f"/api/v1/media/{media_id}/download", headers=auth())
    assert download.status_code == 404 and download.get_json() == NOT_FOUND


def test_another_user_gets_the_same_404_on_every_path(media_client, stored, auth, database):
    media_id, _ = stored
    bob = auth("bob")
    for response in (
        media_client.get(f"/api/v1/media/{media_id}", headers=bob),
        media_client.get(f"/api/v1/media/{media_id}/download", headers=bob),
        media_client.delete(f"/api/v1/media/{media_id}", headers=bob),
    ):
        assert response.status_code == 404 and response.get_json() == NOT_FOUND
    assert media_client.get("/api/v1/media", headers=bob).get_json()["items"] == []
    assert database["media"].find_one({"_id": media_id})["state"] == "stored"


def test_an_admin_sees_downloads_and_deletes_every_users_media(
    media_client, stored, auth, image, database
):
    media_id, _ = stored
    admin = auth("root", is_admin=True)
    assert media_client.get(f"/api/v1/media/{media_id}", headers=admin).status_code == 200
    assert media_client.get(f"/api/v1/media/{media_id}/download", headers=admin).data == image
    listed = media_client.get("/api/v1/media", headers=admin).get_json()["items"]
    assert [item["id"] for item in listed] == [media_id]
    assert media_client.delete(f"/api/v1/media/{media_id}", headers=admin).status_code == 204
    assert account(database, "alice")["used_bytes"] == 0


def test_a_string_is_admin_grants_nothing(client, stored, auth):
    media_id, _ = stored
    response = client.get(f"/api/v1/media/{media_id}", headers=auth("bob", is_admin="true"))
    assert response.status_code == 404


def test_delete_removes_the_object_and_gives_the_quota_back(
    media_client, backend, stored, auth, database
):
    media_id, _ = stored
    doc = database["media"].find_one({"_id": media_id})
    response = media_client.delete(f"/api/v1/media/{media_id}", headers=auth("alice"))
    assert response.status_code == 204 and response.data == b""
    assert database["media"].find_one({"_id": media_id}) is None
    assert backend.delete(doc["object_name"]) is False  # already gone
    assert account(database, "alice")["used_bytes"] == 0
    status = media_client.get("/storage-status", headers=auth("alice")).get_json()
    assert (status["media_bytes"], status["media_count"]) == (0, 0)
    again = media_client.delete(f"/api/v1/media/{media_id}", headers=auth("alice"))
    assert again.status_code == 404


def test_a_delete_that_storage_refuses_is_503_and_a_retry_finishes(
    make_app, store, auth, database, image
):
    from tests.fixtures.failing import FailingStore

    broken = FailingStore(store)
    client = make_app(store_override=broken).test_client()
    media_id = uploaded_id(client, auth(), image)
    broken.fail_delete = True
    assert client.delete(f"/api/v1/media/{media_id}", headers=auth()).status_code == 503
    assert client.get(f"/api/v1/media/{media_id}", headers=auth()).status_code == 404
    assert account(database, "alice")["used_bytes"] == len(image)
    broken.fail_delete = False
    assert client.delete(f"/api/v1/media/{media_id}", headers=auth()).status_code == 204
    assert account(database, "alice")["used_bytes"] == 0


def test_storage_status_counts_media_so_used_storage_adds_up(client, auth, image):
    from tests.helpers import upload as upload_video
    from tests.media import make_video_of_size

    headers = auth()
    assert upload_video(client, headers, make_video_of_size(30_000), "v.mp4").status_code == 200
    uploaded_id(client, headers, image)
    uploaded_id(client, headers, make_pdf())
    status = client.get("/storage-status", headers=headers).get_json()
    assert status["media_count"] == 2
    assert status["media_bytes"] == len(image) + len(make_pdf())
    assert status["used_storage"] == sum(f["size"] for f in status["files"]) + status["media_bytes"]
    assert [f["name"] for f in status["files"]] == ["v.mp4"]


def test_the_download_limit_counts_per_user_and_per_address(make_app, auth, image):
    client = make_app(MEDIA_DOWNLOAD_RATE_LIMIT="3/minute").test_client()
    media_id = uploaded_id(client, auth("alice"), image, is_public="true")
    url = f"/api/v1/media/{media_id}/download"
    assert [client.get(url, headers=auth("alice")).status_code for _ in range(4)] == [200] * 3 + [
        429
    ]
    assert client.get(url, headers=auth("bob")).status_code == 200
    far = {"X-Forwarded-For": "203.0.113.9"}
    assert [client.get(url, headers=far).status_code for _ in range(4)] == [200] * 3 + [429]
    refused = client.get(url, headers={"X-Forwarded-For": "203.0.113.10"})
    assert refused.status_code == 200
    limited = client.get(url, headers=far)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) <= 60


@pytest.mark.parametrize(
    "moment",
    [datetime(2001, 3, 4, 5, 6, tzinfo=UTC), datetime(2099, 9, 8, 7, 6, tzinfo=UTC)],
    ids=["years-behind", "years-ahead"],
)
def test_tokens_and_expiry_follow_the_service_clock_on_any_date(client, auth, clock, moment):
    clock.set(moment)
    media_id = uploaded_id(client, auth(), make_image("png"), expires_in="3600")
    body = client.get(f"/api/v1/media/{media_id}", headers=auth()).get_json()
    assert body["created_at"] == moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert client.get(path_of(body["download_url"])).status_code == 200
    clock.advance(seconds=901)
    assert client.get(path_of(body["download_url"])).status_code == 403
    clock.advance(minutes=45)
    assert client.get(f"/api/v1/media/{media_id}", headers=auth()).status_code == 404
