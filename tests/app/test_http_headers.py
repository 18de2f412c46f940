"""Headers on every response (nosniff, referrer, HSTS in production, no-store) and CORS."""

from __future__ import annotations

import pytest
from flask import Flask

from app.http_headers import secure_responses
from tests.helpers import upload
from tests.media import make_video_of_size

ALLOWED = "https://app.example.com"


def test_every_response_carries_nosniff_and_no_referrer(client, auth):
    for response in (
        client.get("/health"),
        client.get("/openapi.json"),
        client.get("/storage-status"),  # 401
        client.get("/storage-status", headers=auth()),
        client.get("/no/such/path"),
        client.get("/"),  # the web page keeps its own CSP on top
    ):
        assert response.headers.getlist("X-Content-Type-Options") == ["nosniff"], response
        assert response.headers.getlist("Referrer-Policy") == ["no-referrer"], response
        assert "Strict-Transport-Security" not in response.headers
    assert "Content-Security-Policy" in client.get("/").headers


@pytest.mark.parametrize(("app_env", "sent"), [("production", True), ("development", False)])
def test_hsts_is_sent_in_production_only(app_env, sent):
    # A bare Flask app: a production mediastore would start its relay against real services.
    bare = Flask(__name__)
    bare.config["APP_ENV"] = app_env
    bare.add_url_rule("/", "hello", lambda: "hello")
    secure_responses(bare)
    response = bare.test_client().get("/")
    assert response.headers.get("Strict-Transport-Security") == (
        "max-age=31536000" if sent else None
    )


def test_authenticated_json_is_private_and_not_stored(client, auth):
    for response in (
        client.get("/storage-status", headers=auth()),
        client.get("/storage-status", headers={"Authorization": "Bearer bad"}),
        client.get("/api/v1/media/", headers=auth()),
    ):
        assert response.is_json
        assert response.headers["Cache-Control"] == "private, no-store", response


def test_downloads_keep_their_own_cache_policy(client, auth):
    upload(client, auth(), make_video_of_size(2000), "a.mp4")
    response = client.get("/download/disk/a.mp4", headers=auth())
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-cache"


def test_unauthenticated_json_is_left_to_the_view(client):
    assert "no-store" not in client.get("/health").headers.get("Cache-Control", "")


def test_cors_is_off_by_default(client):
    response = client.get("/health", headers={"Origin": ALLOWED})
    assert "Access-Control-Allow-Origin" not in response.headers
    preflight = _preflight(client, "/storage-status")
    assert "Access-Control-Allow-Origin" not in preflight.headers


@pytest.fixture
def cors_client(make_app):
    return make_app(CORS_ALLOWED_ORIGINS=f"{ALLOWED}/, https://other.example").test_client()


def _preflight(client, path, origin=ALLOWED, method="GET"):
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization",
        },
    )


def test_a_named_origin_is_echoed_with_vary(cors_client, auth):
    response = cors_client.get("/storage-status", headers={"Origin": ALLOWED, **auth()})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "Origin" in response.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert "ETag" in response.headers["Access-Control-Expose-Headers"]


def test_the_preflight_of_a_named_origin_allows_methods_and_authorization(cors_client):
    response = _preflight(cors_client, "/delete-file", method="DELETE")
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "DELETE" in response.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
    assert "Origin" in response.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_other_origins_get_no_cors_headers(cors_client):
    response = cors_client.get("/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Origin" in response.headers["Vary"]  # caches must not reuse another's answer
    preflight = _preflight(cors_client, "/storage-status", origin="https://evil.example")
    assert "Access-Control-Allow-Origin" not in preflight.headers
    assert "Access-Control-Allow-Methods" not in preflight.headers


def test_any_origin_is_answered_as_a_star_without_credentials(make_app):
    client = make_app(CORS_ALLOWED_ORIGINS="*").test_client()
    response = client.get("/health", headers={"Origin": "https://anyone.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers
