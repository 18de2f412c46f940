"""The entity API on Google Cloud Storage, through the fake-gcs-server binary."""

from __future__ import annotations

import hashlib

import pytest

from tests.fixtures.entities import create, exif_with, make_dated_video, make_picture, send_form


@pytest.fixture
def gcs_client(make_app, gcs_store):
    return make_app(store_override=gcs_store, AUTH_DISABLED=True).test_client()


def test_entities_on_gcs_get_md5_metadata_and_stream(gcs_client):
    picture = make_picture("JPEG", (40, 30), exif=exif_with(original="2022:02:02 02:02:02"))
    clip = make_dated_video("mp4", "2021-01-01T00:00:00.000000Z")

    image = create(gcs_client, picture).get_json()
    video = create(gcs_client, clip).get_json()
    send_form(gcs_client, "PUT", f"/entity/{image['id']}", {"is_collection": "false",
              "label": "v2"}, make_picture("PNG"))  # fmt: skip

    assert image["md5"] == hashlib.md5(picture).hexdigest()
    assert (image["width"], image["create_date"]) == (40, "2022-02-02T02:02:02Z")
    assert video["md5"] == hashlib.md5(clip).hexdigest()
    assert (video["width"], video["create_date"]) == (32, "2021-01-01T00:00:00Z")
    assert gcs_client.get(f"/entity/{image['id']}/file?version=1").data == picture
    ranged = gcs_client.get(f"/entity/{video['id']}/file", headers={"Range": "bytes=4-11"})
    assert (ranged.status_code, ranged.data) == (206, clip[4:12])
    assert create(gcs_client, clip).status_code == 409
    assert gcs_client.delete(f"/entity/{image['id']}").status_code == 200
    assert gcs_client.get(f"/entity/{image['id']}/file").status_code == 404
