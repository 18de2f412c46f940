"""Entity thumbnails and signed file URLs: made once, pinned to a version, never a bearer."""

from __future__ import annotations

import io
import logging

import pytest
from PIL import Image

from services.core.errors import ObjectMissing
from tests.fixtures.entities import create, make_picture, send_form, video

READ = {"permissions": ["media_store_read"]}
WRITE = {"permissions": ["media_store_write"]}
YEAR = "max-age=31536000"


def jpeg_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG"
        return image.size


def local(url: str) -> str:
    """The path and query of an absolute URL the API answered (the test client's host)."""
    return url.removeprefix("http://localhost")


def test_an_image_thumbnail_is_made_once_and_kept_beside_it(client, entities, store):
    entity = create(client, make_picture(size=(800, 600))).get_json()
    path = f"/entity/{entity['id']}/thumbnail"

    first, second = client.get(path), client.get(path)

    assert first.status_code == 200 and first.headers["Content-Type"] == "image/jpeg"
    assert jpeg_size(first.data) == (320, 240)
    assert first.data == second.data and entities.previews.renders == 1
    assert first.headers["X-Content-Type-Options"] == "nosniff"
    # Without a version the entity may move on: the browser revalidates (304) every time.
    assert first.headers["Cache-Control"] == "private, no-cache"
    revalidated = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert revalidated.status_code == 304
    object_name = entities.records.get(entity["id"])["object_name"]
    assert store.stat(object_name + ".preview.jpg").content_type == "image/jpeg"


def test_a_video_thumbnail_is_a_frame_and_a_versions_is_cached_for_long(client):
    entity = create(client, video("webm", seconds=2.0, size=(160, 120))).get_json()

    response = client.get(f"/entity/{entity['id']}/thumbnail?version=1")

    assert response.status_code == 200 and jpeg_size(response.data) == (160, 120)
    assert YEAR in response.headers["Cache-Control"]


def test_each_version_has_its_own_thumbnail_and_a_collection_none(client):
    entity_id = create(client, make_picture(size=(40, 40))).get_json()["id"]
    form = {"is_collection": "false", "label": "wide"}
    send_form(client, "PUT", f"/entity/{entity_id}", form, make_picture("PNG", size=(80, 20)))
    folder = create(client, label="folder").get_json()["id"]

    old = client.get(f"/entity/{entity_id}/thumbnail?version=1")
    new = client.get(f"/entity/{entity_id}/thumbnail")
    none = client.get(f"/entity/{folder}/thumbnail")

    assert jpeg_size(old.data) == (40, 40) and jpeg_size(new.data) == (80, 20)
    assert none.status_code == 404 and none.get_json() == {"detail": f"Entity {folder} has no file"}


def test_deleting_the_entity_deletes_its_thumbnails(client, entities, store):
    entity_id = create(client, make_picture(size=(30, 30))).get_json()["id"]
    object_name = entities.records.get(entity_id)["object_name"]
    client.get(f"/entity/{entity_id}/thumbnail")

    assert client.delete(f"/entity/{entity_id}").status_code == 200
    with pytest.raises(ObjectMissing):
        store.stat(object_name + ".preview.jpg")


# Signed URLs, with read authentication on.


@pytest.fixture
def guarded(es256_app):
    """The entity API with read authentication on: every read needs a token."""
    return es256_app(READ_AUTH_ENABLED=True).test_client()


@pytest.fixture
def picture(guarded, bearer) -> tuple[int, bytes]:
    data = make_picture(size=(50, 40), color=(1, 2, 3))
    entity = create(guarded, data, headers=bearer(**WRITE)).get_json()
    return entity["id"], data


def test_the_signed_urls_read_the_file_and_thumbnail_without_a_bearer(guarded, bearer, picture):
    entity_id, data = picture
    signed = guarded.get(f"/entity/{entity_id}/file-url", headers=bearer(**READ)).get_json()

    assert signed["version"] == 1 and signed["expires_at"].endswith("Z")
    assert signed["url"].startswith(f"http://localhost/entity/{entity_id}/file?version=1&token=")
    assert guarded.get(local(signed["url"])).data == data
    thumbnail = guarded.get(local(signed["thumbnail_url"]))
    assert thumbnail.status_code == 200 and jpeg_size(thumbnail.data) == (50, 40)
    assert guarded.get(f"/entity/{entity_id}/file").status_code == 401


def test_a_signed_url_keeps_showing_its_version(guarded, bearer, picture):
    entity_id, data = picture
    signed = guarded.get(f"/entity/{entity_id}/file-url", headers=bearer(**READ)).get_json()
    form = {"is_collection": "false", "label": "next"}
    replaced = send_form(
        guarded, "PUT", f"/entity/{entity_id}", form, make_picture("PNG"), bearer(**WRITE)
    )
    assert replaced.status_code == 200

    assert guarded.get(local(signed["url"])).data == data


def test_an_older_versions_url_is_signed_for_that_version(guarded, bearer, picture):
    entity_id, data = picture
    patch = {"body": {"label": "renamed"}}
    guarded.patch(f"/entity/{entity_id}", json=patch, headers=bearer(**WRITE))

    signed = guarded.get(f"/entity/{entity_id}/file-url?version=1", headers=bearer(**READ))
    current = guarded.get(f"/entity/{entity_id}/file-url", headers=bearer(**READ))

    assert signed.get_json()["version"] == 1 and current.get_json()["version"] == 2
    assert guarded.get(local(signed.get_json()["url"])).data == data


def test_tokens_for_another_version_or_entity_or_expired_ones_are_403(
    guarded, bearer, picture, clock
):
    entity_id, _ = picture
    other = create(guarded, make_picture(color=(9, 9, 9)), headers=bearer(**WRITE)).get_json()
    signed = guarded.get(f"/entity/{entity_id}/file-url", headers=bearer(**READ)).get_json()
    token = local(signed["url"]).split("token=", 1)[1]

    refused = [
        guarded.get(f"/entity/{other['id']}/file?version=1&token={token}"),
        guarded.get(f"/entity/{entity_id}/file?version=2&token={token}"),
        guarded.get(f"/entity/{entity_id}/file?token={token}"),
        guarded.get(f"/entity/{entity_id}/thumbnail?version=1&token=1{token}"),
        guarded.get(f"/entity/{entity_id}/file?version=1&token=garbage"),
    ]
    assert [r.status_code for r in refused] == [403] * 5
    assert refused[0].get_json() == {"detail": "Invalid or expired file token"}
    clock.advance(seconds=901)
    assert guarded.get(local(signed["url"])).status_code == 403


def test_file_urls_need_read_permission_when_read_auth_is_on(guarded, bearer, picture):
    entity_id, _ = picture
    path = f"/entity/{entity_id}/file-url"

    assert guarded.get(path).status_code == 401
    assert guarded.get(path, headers=bearer(**WRITE)).status_code == 403
    assert guarded.get(path, headers=bearer(**READ)).status_code == 200


def test_a_collection_has_no_file_url(client):
    folder = create(client, label="folder").get_json()["id"]
    response = client.get(f"/entity/{folder}/file-url")
    assert response.status_code == 404


def test_tokens_never_reach_the_access_log(guarded, bearer, picture, caplog):
    entity_id, _ = picture
    signed = guarded.get(f"/entity/{entity_id}/file-url", headers=bearer(**READ)).get_json()
    token = local(signed["url"]).split("token=", 1)[1]

    with caplog.at_level(logging.INFO, logger="mediastore.access"):
        response = guarded.get(local(signed["url"]))
        assert response.status_code == 200
        response.close()  # the access line is written once the server closes the body

    lines = [r for r in caplog.records if r.name == "mediastore.access"]
    assert lines and all(f"/entity/{entity_id}/file" in r.getMessage() for r in lines)
    assert not any(token in r.getMessage() or token in str(vars(r)) for r in lines)


def test_thumbnails_and_file_urls_are_documented(client):
    paths = client.get("/openapi.json").get_json()["paths"]

    thumbnail = paths["/entity/{entity_id}/thumbnail"]["get"]
    file_url = paths["/entity/{entity_id}/file-url"]["get"]
    file = paths["/entity/{entity_id}/file"]["get"]

    assert {"200", "403", "404", "415"} <= set(thumbnail["responses"])
    assert thumbnail["security"] == [{"bearerAuth": []}, {}]
    schema = file_url["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/FileUrlRead"}
    assert file_url["security"] == [{"bearerAuth": []}, {}]
    assert "token" in {p["name"] for p in file["parameters"]}
