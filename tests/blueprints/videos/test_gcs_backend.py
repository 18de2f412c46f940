"""The whole API on Google Cloud Storage, through the fake-gcs-server binary."""

from __future__ import annotations

import json

import pytest
import requests
from google.cloud.storage.retry import DEFAULT_RETRY

from app import create_app
from blueprints._http.tokens import mint_token
from tests.fixtures.gcs import service_account_info
from tests.helpers import account, upload
from tests.media import make_video_of_size

SIZE = 700_000  # several 256 KiB storage chunks


@pytest.fixture
def gcs_app(make_app, gcs_store):
    return make_app(store_override=gcs_store)


def test_upload_stream_download_delete_on_gcs(gcs_app, gcs_store, auth, database):
    client = gcs_app.test_client()
    data = make_video_of_size(SIZE)
    assert upload(client, auth(), data, "clip.mp4").status_code == 200
    doc = database["files"].find_one({"filename": "clip.mp4"})
    info = gcs_store.stat(doc["object_name"])
    assert info.size == SIZE and info.content_type == "video/mp4"
    assert str(info.generation) == doc["generation"]

    whole = client.get("/download/disk/clip.mp4", headers=auth())
    assert whole.status_code == 200 and whole.data == data
    part = client.get("/stream/video/clip.mp4", headers={**auth(), "Range": "bytes=262000-270000"})
    assert part.status_code == 206 and part.data == data[262000:270001]
    assert part.headers["ETag"] == f'"{info.generation}"'

    assert (
        client.delete("/delete-file", json={"filename": "clip.mp4"}, headers=auth()).status_code
        == 200
    )
    assert gcs_store.delete(doc["object_name"]) is False
    assert account(database, "alice")["used_bytes"] == 0


def test_signed_url_from_gcs_is_fetchable_over_http(gcs_app, auth):
    client = gcs_app.test_client()
    data = make_video_of_size(SIZE)
    upload(client, auth(), data, "clip.mp4")
    url = client.get("/stream/direct/clip.mp4", headers=auth()).get_json()["url"]
    assert "X-Goog-Signature=" in url and "X-Goog-Expires=900" in url
    assert requests.get(url, timeout=10).content == data
    ranged = requests.get(url, headers={"Range": "bytes=10-19"}, timeout=10)
    assert ranged.status_code == 206 and ranged.content == data[10:20]


def test_object_missing_from_gcs_is_404_not_500(gcs_app, gcs_store, auth, database):
    client = gcs_app.test_client()
    upload(client, auth(), make_video_of_size(5000), "clip.mp4")
    gcs_store.delete(database["files"].find_one({})["object_name"])
    response = client.get("/stream/video/clip.mp4", headers=auth())
    assert response.status_code == 404 and response.is_json


def test_gcs_outage_is_503_json(make_app, fake_gcs, auth, database):
    from tests.fixtures.gcs import make_gcs_service

    quick = DEFAULT_RETRY.with_timeout(0.5)
    dead = make_gcs_service(fake_gcs, "bucket", chunk_bytes=256 * 1024, retry=quick)
    dead._bucket.client._connection.API_BASE_URL = "http://127.0.0.1:9"
    client = make_app(store_override=dead).test_client()
    response = upload(client, auth(), make_video_of_size(5000), "clip.mp4")
    assert response.status_code == 503
    assert response.is_json and "error" in response.get_json()
    assert account(database, "alice")["used_bytes"] == 0
    assert client.get("/ready").status_code == 503


def test_app_configured_for_gcs_from_settings(settings, fake_gcs, gcs_bucket_name, tmp_path):
    key_file = tmp_path / "key.json"
    key_file.write_text(json.dumps(service_account_info()))
    app = create_app(
        {
            **settings,
            "GCS_BUCKET": gcs_bucket_name,
            "GCS_ENDPOINT": fake_gcs.url,
            "GCS_SIGNING_KEY_FILE": str(key_file),
            "GCP_PROJECT": "test",
            "MONGO_DB": "gcs-test",
        }
    )
    with app.app_context():
        headers = {"Authorization": f"Bearer {mint_token('alice')}"}
    client = app.test_client()
    data = make_video_of_size(SIZE)
    try:
        assert upload(client, headers, data, "clip.mp4").status_code == 200
        assert client.get("/ready").status_code == 200
        url = client.get("/stream/direct/clip.mp4", headers=headers).get_json()["url"]
        assert url.startswith(fake_gcs.url)
        assert requests.get(url, timeout=10).content == data
    finally:
        app.extensions["mediastore"].close()
