"""The page's own routes: served locked down, a development sign-in that production lacks."""

from __future__ import annotations

import jwt
import pytest

from tests.conftest import JWT_TEST_SECRET


def test_page_and_docs_are_html_with_security_headers(client):
    for path in ("/", "/docs"):
        response = client.get(path)
        assert response.status_code == 200 and response.mimetype == "text/html"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert b"<script>" not in response.data  # only external module scripts


def test_dev_token_names_a_user_and_verifies(client):
    answer = client.post("/web/dev-token", json={"name": "carol"}).get_json()
    claims = jwt.decode(
        answer["token"], JWT_TEST_SECRET, algorithms=["HS256"], options={"verify_exp": False}
    )
    assert claims["sub"] == "carol"
    bearer = {"Authorization": f"Bearer {answer['token']}"}
    assert client.get("/storage-status", headers=bearer).status_code == 200


@pytest.mark.parametrize("body", [{"name": ""}, {"name": "a/b"}, {"name": 3}, [1], "x"])
def test_dev_token_refuses_odd_names(client, body):
    assert client.post("/web/dev-token", json=body).status_code == 400


def test_production_has_no_dev_sign_in(make_app, tmp_path):
    app = make_app(
        APP_ENV="production",
        GCS_BUCKET="b",
        MONGO_URI="mongodb://127.0.0.1:1/x",
        PEER_TOKEN_SECRET="p" * 40,
        MEDIA_DOWNLOAD_TOKEN_SECRET="m" * 40,
        PUBSUB_VERIFY_PUSH=True,
    )
    client = app.test_client()
    assert client.post("/web/dev-token", json={"name": "x"}).status_code == 404
    assert b'data-dev-sign-in="false"' in client.get("/").data


def test_the_clock_is_the_services(client, clock):
    assert client.get("/web/clock").get_json()["now"] == clock().timestamp()


def test_entity_access_follows_the_mode_and_the_tokens_permissions(make_app, token):
    normal = make_app().test_client()
    guarded = make_app(READ_AUTH_ENABLED=True).test_client()
    demo = make_app(AUTH_DISABLED=True).test_client()

    def access(client, **claims):
        headers = {"Authorization": f"Bearer {token('alice', **claims)}"} if claims else {}
        answer = client.get("/web/entity-access", headers=headers).get_json()
        return answer["can_read"], answer["can_write"]

    assert access(normal) == (True, False)
    assert access(normal, permissions=["media_store_write"]) == (True, True)
    assert access(guarded) == (False, False)
    assert access(guarded, permissions=["media_store_read"]) == (True, False)
    assert access(guarded, is_admin=True) == (True, True)
    assert access(demo) == (True, True)
    assert demo.get("/web/entity-access").get_json()["auth_disabled"] is True


def test_entity_access_refuses_a_bad_token(client):
    response = client.get("/web/entity-access", headers={"Authorization": "Bearer x.y.z"})
    assert response.status_code == 401
