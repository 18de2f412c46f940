"""POST and GET /api/screenshot/<catalog_id>: peer uploads with one-time tokens, user listing."""

from __future__ import annotations

import dataclasses
import io
import threading
from urllib.parse import urlsplit

import pytest
import requests

from tests.fixtures.live import serve
from tests.fixtures.screenshots import Rig, build_rig
from tests.helpers import BOUNDARY
from tests.media import make_image

URL = "/api/screenshot/c1"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


@pytest.fixture
def make_screenshot_app(make_app, httpserver, database, store, clock):
    """An app whose screenshot service talks to the local registry and edge, plus its rig."""

    def build(**overrides):
        rig = build_rig(httpserver, database=database, store=store, clock=clock, **overrides)
        app = make_app(**overrides)
        services = app.extensions["mediastore"]
        app.extensions["mediastore"] = dataclasses.replace(services, screenshots=rig.service)
        app.rig = rig
        return app

    return build


@pytest.fixture
def app(make_screenshot_app):
    return make_screenshot_app()


@pytest.fixture
def rig(app) -> Rig:
    return app.rig


def body(*files: bytes, field: str = "files") -> bytes:
    """A multipart body with one part per file in the given field."""
    out = b""
    for number, data in enumerate(files):
        out += (
            (
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{field}"; '
                f'filename="shot{number}.png"\r\nContent-Type: image/png\r\n\r\n'
            ).encode()
            + data
            + b"\r\n"
        )
    return out + f"--{BOUNDARY}--\r\n".encode()


def post(client, files=(), token=None, url=URL, headers=None, raw=None):
    headers = dict(headers or {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    headers.setdefault("Content-Type", MULTIPART)
    data = raw if raw is not None else body(*files)
    return client.post(url, data=io.BytesIO(data), headers=headers)


def fetch(client, url: str):
    parts = urlsplit(url)
    return client.get(f"{parts.path}?{parts.query}")


def test_upload_answers_signed_absolute_urls_that_serve_the_bytes(client, rig):
    token = rig.offer()["p1"]
    png, webp = make_image("png"), make_image("webp")
    response = post(client, [png, webp], token)
    assert response.status_code == 200
    payload = response.get_json()
    assert payload["catalog_id"] == "c1"
    assert payload["status"] == "success"
    assert payload["message"] == "Screenshots uploaded successfully"
    urls = payload["screenshot_urls"]
    assert all(url.startswith("http://localhost/signed/screenshots/c1/r1/") for url in urls)
    assert [fetch(client, url).data for url in urls] == [png, webp]
    assert fetch(client, urls[1]).headers["Content-Type"] == "image/webp"
    assert len(rig.completed_events()) == 1


def test_upload_over_a_real_socket(app, rig):
    token = rig.offer()["p1"]
    jpeg = make_image("jpeg")
    with serve(app) as base:
        response = requests.post(
            base + URL, headers={"Authorization": f"Bearer {token}"},
            files=[("files", ("a.jpg", jpeg, "image/jpeg"))], timeout=10,
        )  # fmt: skip
        assert response.status_code == 200, response.text
        [url] = response.json()["screenshot_urls"]
        assert url.startswith(base + "/signed/screenshots/c1/r1/")
        assert urlsplit(url).path.endswith(".jpg")
        assert requests.get(url, timeout=10).content == jpeg


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic dXNlcjpwdw=="}, {"Authorization": "Bearer"},
     {"Authorization": "Bearer not.a.token"}, {"Authorization": "Token abc"}],
    ids=["missing", "basic", "empty-bearer", "garbage", "other-scheme"],
)  # fmt: skip
def test_upload_without_a_valid_token_is_401(client, rig, headers):
    rig.offer()
    response = post(client, [make_image("png")], headers=headers)
    assert response.status_code == 401
    assert "detail" in response.get_json()


def test_upload_with_a_user_token_is_401(client, auth, rig):
    rig.offer()
    response = post(client, [make_image("png")], headers=auth("p1"))
    assert response.status_code == 401
    assert response.get_json() == {"detail": "Invalid or expired token"}


def test_upload_with_an_expired_token_is_401(client, rig, clock):
    token = rig.offer()["p1"]
    clock.advance(minutes=31)
    response = post(client, [make_image("png")], token)
    assert response.status_code == 401
    assert response.get_json() == {"detail": "Invalid or expired token"}


def test_catalog_mismatch_is_400(client, rig):
    token = rig.offer()["p1"]
    response = post(client, [make_image("png")], token, url="/api/screenshot/c2")
    assert response.status_code == 400
    assert response.get_json() == {"detail": "Catalog ID in URL does not match token"}


def test_reused_token_is_403(client, rig):
    token = rig.offer()["p1"]
    assert post(client, [make_image("png")], token).status_code == 200
    response = post(client, [make_image("png")], token)
    assert response.status_code == 403
    assert response.get_json() == {"detail": "Token has already been used"}


def test_second_peer_after_fulfilment_is_403(client, rig):
    tokens = rig.offer(peers=("p1", "p2"))
    assert post(client, [make_image("png")], tokens["p1"]).status_code == 200
    response = post(client, [make_image("png")], tokens["p2"])
    assert response.status_code == 403
    assert response.get_json() == {"detail": "Screenshot request already fulfilled"}
    assert len(rig.completed_events()) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"files": ()}, "No files uploaded"),
     ({"raw": body(make_image("png"), field="other")}, "Unexpected form field 'other'"),
     ({"raw": b"not multipart", "headers": {"Content-Type": "text/plain"}}, "No files uploaded"),
     ({"files": [make_image("png")] * 11}, "Too many files: at most 10 per request")],
    ids=["empty", "wrong-field", "not-multipart", "too-many"],
)  # fmt: skip
def test_missing_or_too_many_files_is_400(client, rig, kwargs, message):
    token = rig.offer()["p1"]
    response = post(client, token=token, **kwargs)
    assert response.status_code == 400
    assert response.get_json() == {"detail": message}


def test_non_image_is_415_and_does_not_spend_the_token(client, rig):
    token = rig.offer()["p1"]
    response = post(client, [make_image("png"), b"%PDF-1.4 not an image"], token)
    assert response.status_code == 415
    assert response.get_json() == {"detail": "Only JPEG, PNG and WebP images are accepted"}
    assert post(client, [make_image("png")], token).status_code == 200


@pytest.mark.parametrize(
    "impostor",
    [make_image("png", (64, 64))[:-40], make_image("jpeg", (128, 128))[:500]],
    ids=["truncated-png", "truncated-jpeg"],
)
def test_an_image_that_does_not_decode_is_415_and_leaves_nothing(client, rig, store, impostor):
    token = rig.offer()["p1"]
    response = post(client, [make_image("png"), impostor], token)
    assert response.status_code == 415
    assert response.get_json() == {"detail": "Only JPEG, PNG and WebP images are accepted"}
    visible = [p for p in store.root.rglob("*") if p.is_file() and not p.name.startswith(".")]
    assert visible == []
    assert post(client, [make_image("png")], token).status_code == 200


def test_oversized_file_is_413_and_does_not_spend_the_token(make_screenshot_app):
    app = make_screenshot_app(MAX_SCREENSHOT_BYTES=500)
    client = app.test_client()
    token = app.rig.offer()["p1"]
    big = make_image("png", size=(64, 64))
    assert len(big) > 500 > len(make_image("png"))
    response = post(client, [make_image("png"), big], token)
    assert response.status_code == 413
    assert "detail" in response.get_json()
    assert post(client, [make_image("png")], token).status_code == 200


def test_concurrent_uploads_with_one_token_exactly_one_succeeds(app, rig):
    token = rig.offer()["p1"]
    results: list[tuple[int, dict]] = []

    def upload():
        response = post(app.test_client(), [make_image("png")], token)
        results.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=upload) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert sorted(status for status, _ in results) == [200, 403]
    assert [b for s, b in results if s == 403] == [{"detail": "Token has already been used"}]
    assert len(rig.completed_events()) == 1


def test_users_list_fresh_signed_urls(client, auth, rig, clock):
    token = rig.offer()["p1"]
    png = make_image("png")
    [old_url] = post(client, [png], token).get_json()["screenshot_urls"]
    clock.advance(hours=2)  # past SIGNED_URL_TTL_SECONDS
    assert fetch(client, old_url).status_code == 403

    response = client.get(URL, headers=auth("alice"))
    assert response.status_code == 200
    payload = response.get_json()
    assert payload["catalog_id"] == "c1"
    [url] = payload["screenshot_urls"]
    assert url.startswith("http://localhost/signed/screenshots/c1/r1/") and url != old_url
    assert fetch(client, url).data == png


def test_listing_an_item_without_screenshots_is_empty(client, auth):
    response = client.get("/api/screenshot/unknown", headers=auth("alice"))
    assert response.status_code == 200
    assert response.get_json() == {"catalog_id": "unknown", "screenshot_urls": []}


def test_listing_refuses_peer_tokens_and_anonymous_callers(client, rig):
    token = rig.offer()["p1"]
    assert client.get(URL, headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert client.get(URL).status_code == 401


def test_openapi_describes_both_endpoints(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    operations = paths["/api/screenshot/{catalog_id}"]
    upload = operations["post"]
    files = upload["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    assert files["files"]["type"] == "array"
    assert files["files"]["minItems"] == 1  # found by the fuzz run: no file is a 400
    assert {"200", "400", "401", "403", "413", "415"} <= set(upload["responses"])
    assert {"200", "401"} <= set(operations["get"]["responses"])


@pytest.mark.parametrize("raw_name", [b"a\xff.png", b"\xed\xa0\x80.png"], ids=["utf8", "surrogate"])
def test_undecodable_file_names_are_400_and_keep_the_token(client, rig, raw_name):
    token = rig.offer()["p1"]
    raw = body(make_image("png")).replace(b"shot0.png", raw_name)
    response = post(client, token=token, raw=raw)
    assert response.status_code == 400
    assert "UTF-8" in response.get_json()["detail"]
    assert post(client, [make_image("png")], token).status_code == 200
