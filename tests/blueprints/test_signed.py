"""GET /stream/direct: signed URLs of the embedded store, fetched over real HTTP."""

from __future__ import annotations

from urllib.parse import urlsplit

import requests

from tests.fixtures.live import serve
from tests.helpers import upload
from tests.media import make_video_of_size


def test_signed_url_streams_without_a_token(app, auth):
    data = make_video_of_size(200_000)
    with serve(app) as base:
        headers = auth()
        with app.test_client() as client:
            assert upload(client, headers, data, "clip.mp4").status_code == 200
        answer = requests.get(f"{base}/stream/direct/clip.mp4", headers=headers, timeout=10)
        assert answer.status_code == 200
        url = answer.json()["url"]
        assert url.startswith(base + "/signed/")
        full = requests.get(url, timeout=10)
        assert full.status_code == 200 and full.content == data
        part = requests.get(url, headers={"Range": "bytes=100-199"}, timeout=10)
        assert part.status_code == 206 and part.content == data[100:200]
        assert part.headers["Content-Range"] == "bytes 100-199/200000"


def test_tampered_or_expired_signed_url_is_refused(client, auth, clock):
    upload(client, auth(), make_video_of_size(5000), "clip.mp4")
    url = client.get("/stream/direct/clip.mp4", headers=auth()).get_json()["url"]
    parts = urlsplit(url)
    path_and_query = f"{parts.path}?{parts.query}"
    assert client.get(path_and_query).status_code == 200
    tampered = path_and_query.replace("signature=", "signature=0")
    response = client.get(tampered)
    assert response.status_code == 403
    assert response.get_json() == {"error": "Invalid or expired signature"}
    other_object = path_and_query.replace("/signed/videos/", "/signed/videos/x")
    assert client.get(other_object).status_code == 403
    clock.advance(seconds=901)
    assert client.get(path_and_query).status_code == 403


# --- errors name no storage object -------------------------------------------------------


def test_signed_url_of_a_deleted_video_is_404_without_the_object_name(client, auth, database):
    upload(client, auth(), make_video_of_size(5000), "clip.mp4")
    object_name = database["files"].find_one({"filename": "clip.mp4"})["object_name"]
    url = client.get("/stream/direct/clip.mp4", headers=auth()).get_json()["url"]
    deleted = client.delete("/delete-file", json={"filename": "clip.mp4"}, headers=auth())
    assert deleted.status_code == 200

    response = client.get(url)

    assert response.status_code == 404
    assert response.get_json() == {"error": "File not found"}
    assert object_name not in response.get_data(as_text=True)
    assert object_name.split("/")[-1] not in response.get_data(as_text=True)
