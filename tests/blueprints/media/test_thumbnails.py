"""GET /api/v1/media/{id}/thumbnail: a JPEG of an image, made once, for whoever may download."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from services.core.errors import ObjectMissing
from tests.blueprints.media.helpers import make_pdf, path_of, uploaded_id
from tests.media import make_image


def thumbnail_path(media_id: str) -> str:
    return f"/api/v1/media/{media_id}/thumbnail"


def jpeg_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG"
        return image.size


@pytest.fixture
def photo(media_client, auth):
    """Alice's private 1000x500 PNG: its id."""
    return uploaded_id(media_client, auth("alice"), make_image("png", size=(1000, 500)))


def test_a_thumbnail_is_a_small_jpeg_cached_for_long_with_an_etag(media_client, auth, photo):
    response = media_client.get(thumbnail_path(photo), headers=auth("alice"))

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    assert jpeg_size(response.data) == (320, 160)
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert response.headers["Cache-Control"].startswith("private")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    etag = response.headers["ETag"]
    again = media_client.get(
        thumbnail_path(photo), headers={**auth("alice"), "If-None-Match": etag}
    )
    assert again.status_code == 304


def test_it_is_made_once_and_kept_beside_the_original(media_app, media_client, auth, photo):
    library = media_app.extensions["mediastore"].media.library
    first = media_client.get(thumbnail_path(photo), headers=auth("alice"))
    second = media_client.get(thumbnail_path(photo), headers=auth("alice"))

    assert first.data == second.data and first.headers["ETag"] == second.headers["ETag"]
    assert library.previews.renders == 1
    record = media_app.extensions["mediastore"].database["media"].find_one({"_id": photo})
    preview = library.store.stat(record["object_name"] + ".preview.jpg")
    assert preview.content_type == "image/jpeg"


def test_a_download_token_or_a_public_file_needs_no_bearer(media_client, auth):
    private = uploaded_id(media_client, auth("alice"), make_image("png", size=(40, 40)))
    public = uploaded_id(
        media_client, auth("alice"), make_image("jpeg", size=(40, 40)), is_public="true"
    )
    download_url = media_client.get(f"/api/v1/media/{private}", headers=auth("alice")).get_json()[
        "download_url"
    ]
    token = download_url.split("token=", 1)[1]

    assert media_client.get(f"{thumbnail_path(private)}?token={token}").status_code == 200
    assert media_client.get(thumbnail_path(public)).status_code == 200
    assert media_client.get(path_of(download_url)).status_code == 200


def test_others_get_404_strangers_401_and_a_wrong_token_403(media_client, auth, photo):
    other = media_client.get(thumbnail_path(photo), headers=auth("mallory"))
    stranger = media_client.get(thumbnail_path(photo))
    forged = media_client.get(f"{thumbnail_path(photo)}?token=99999999999.forged")

    assert other.status_code == 404 and other.get_json() == {"detail": "Media not found"}
    assert stranger.status_code == 401
    assert forged.status_code == 403


def test_a_pdf_has_no_thumbnail(media_client, auth):
    pdf = uploaded_id(media_client, auth("alice"), make_pdf(), name="a.pdf")
    response = media_client.get(thumbnail_path(pdf), headers=auth("alice"))
    assert response.status_code == 415
    assert response.get_json() == {"detail": "Thumbnails are made of images only"}


def test_deleting_the_file_deletes_its_thumbnail(media_app, media_client, auth, photo):
    record = media_app.extensions["mediastore"].database["media"].find_one({"_id": photo})
    media_client.get(thumbnail_path(photo), headers=auth("alice"))
    store = media_app.extensions["mediastore"].store

    assert media_client.delete(f"/api/v1/media/{photo}", headers=auth("alice")).status_code == 204
    with pytest.raises(ObjectMissing):
        store.stat(record["object_name"] + ".preview.jpg")
    assert media_client.get(thumbnail_path(photo), headers=auth("alice")).status_code == 404


def test_the_thumbnail_is_documented(client):
    operation = client.get("/openapi.json").get_json()["paths"][
        "/api/v1/media/{media_id}/thumbnail"
    ]
    get = operation["get"]
    assert {"200", "401", "403", "404", "415"} <= set(get["responses"])
    assert {"bearerAuth": []} in get["security"]
    assert "token" in {p["name"] for p in get["parameters"]}
