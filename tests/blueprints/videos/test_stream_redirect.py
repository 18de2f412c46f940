"""STREAM_REDIRECT=true: /stream/video and /download/disk answer 307 to a signed URL."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests

from tests.helpers import upload
from tests.media import make_video_of_size

SIZE = 300_000


@pytest.fixture
def redirecting(make_app):
    """The app on the embedded local store, redirecting reads."""
    return make_app(STREAM_REDIRECT=True)


def _follow(client, response, headers=None):
    """GET the Location the way a browser does: without the bearer token."""
    location = urlsplit(response.headers["Location"])
    assert location.scheme == "http" and location.netloc == "localhost"
    return client.get(f"{location.path}?{location.query}", headers=headers or {})


def test_a_stream_redirects_to_a_signed_url_that_serves_the_bytes(redirecting, auth):
    client = redirecting.test_client()
    data = make_video_of_size(SIZE)
    upload(client, auth(), data, "clip.mp4")
    response = client.get("/stream/video/clip.mp4", headers=auth())
    assert response.status_code == 307 and response.data == b""
    assert response.headers["Cache-Control"] == "private, no-store"
    assert urlsplit(response.headers["Location"]).path.startswith("/signed/")
    followed = _follow(client, response)
    assert followed.status_code == 200 and followed.data == data
    assert "Content-Disposition" not in followed.headers
    ranged = _follow(client, response, {"Range": "bytes=100-199"})
    assert ranged.status_code == 206 and ranged.data == data[100:200]


def test_a_download_redirects_to_a_signed_attachment(redirecting, auth):
    client = redirecting.test_client()
    data = make_video_of_size(SIZE)
    upload(client, auth(), data, "holiday.mp4")
    response = client.get("/download/disk/holiday.mp4", headers=auth())
    assert response.status_code == 307
    followed = _follow(client, response)
    assert followed.data == data
    assert followed.headers["Content-Disposition"].startswith("attachment")
    assert "holiday.mp4" in followed.headers["Content-Disposition"]


def test_the_signed_url_expires_with_the_signed_url_ttl(make_app, auth, clock):
    client = make_app(STREAM_REDIRECT=True, SIGNED_URL_TTL_SECONDS=60).test_client()
    upload(client, auth(), make_video_of_size(SIZE), "clip.mp4")
    response = client.get("/stream/video/clip.mp4", headers=auth())
    clock.advance(seconds=61)
    assert _follow(client, response).status_code == 403


def test_head_is_answered_without_a_redirect(redirecting, auth):
    client = redirecting.test_client()
    upload(client, auth(), make_video_of_size(SIZE), "clip.mp4")
    response = client.head("/stream/video/clip.mp4", headers=auth())
    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(SIZE) and "Location" not in response.headers


@pytest.mark.parametrize("path", ["/stream/video/other.mp4", "/download/disk/other.mp4"])
def test_missing_files_and_missing_tokens_never_redirect(redirecting, auth, path):
    client = redirecting.test_client()
    upload(client, auth(), make_video_of_size(SIZE), "clip.mp4")
    assert client.get(path, headers=auth()).status_code == 404
    assert client.get(path.replace("other", "clip")).status_code == 401
    assert client.get(path.replace("other", "clip"), headers=auth("bob")).status_code == 404


def test_without_the_setting_the_service_streams_the_bytes_itself(client, auth):
    data = make_video_of_size(SIZE)
    upload(client, auth(), data, "clip.mp4")
    response = client.get("/stream/video/clip.mp4", headers=auth())
    assert response.status_code == 200 and response.data == data


def test_on_gcs_the_redirect_is_a_v4_signed_url_gcs_serves(make_app, gcs_store, auth):
    client = make_app(store_override=gcs_store, STREAM_REDIRECT=True).test_client()
    data = make_video_of_size(SIZE)
    upload(client, auth(), data, "clip.mp4")
    stream = client.get("/stream/video/clip.mp4", headers=auth())
    assert stream.status_code == 307
    assert "X-Goog-Signature=" in stream.headers["Location"]
    assert requests.get(stream.headers["Location"], timeout=10).content == data
    download = client.get("/download/disk/clip.mp4", headers=auth())
    assert "response-content-disposition=attachment" in download.headers["Location"]
    assert requests.get(download.headers["Location"], timeout=10).content == data
