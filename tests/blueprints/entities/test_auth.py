"""The three authentication modes of the entity API, with real ES256 keys made per test."""

from __future__ import annotations

import pytest

from tests.fixtures.entities import Keys, create, make_picture, send_form

READ = {"permissions": ["media_store_read"]}
WRITE = {"permissions": ["media_store_write"]}
ADMIN = {"is_admin": True}


def _reads(client, entity_id: int, headers: dict[str, str]) -> list:
    return [
        client.get("/entity/", headers=headers),
        client.get(f"/entity/{entity_id}", headers=headers),
        client.get(f"/entity/{entity_id}/versions", headers=headers),
        client.get(f"/entity/{entity_id}/file", headers=headers),
    ]


def _writes(client, entity_id: int, headers: dict[str, str]) -> list:
    return [
        create(client, make_picture(color=(3, 4, 5)), headers=headers),
        send_form(
            client,
            "PUT",
            f"/entity/{entity_id}",
            {"is_collection": "false", "label": "p"},
            headers=headers,
        ),  # fmt: skip
        client.patch(f"/entity/{entity_id}", json={"body": {"label": "x"}}, headers=headers),
        client.delete(f"/entity/{entity_id}", headers=headers),
    ]


@pytest.fixture
def normal(es256_app):
    return es256_app().test_client()


@pytest.fixture
def read_auth(es256_app):
    return es256_app(READ_AUTH_ENABLED=True).test_client()


@pytest.fixture
def picture(normal, bearer) -> int:
    return create(normal, make_picture(), headers=bearer(**WRITE)).get_json()["id"]


# Demo mode.


def test_demo_mode_opens_every_endpoint_and_records_no_author(es256_app, bearer):
    client = es256_app(AUTH_DISABLED=True).test_client()
    entity = create(client, make_picture()).get_json()

    reads = _reads(client, entity["id"], {})
    config = client.get("/admin/config")
    writes = _writes(client, entity["id"], {})

    assert [r.status_code for r in reads] == [200, 200, 200, 200]
    assert config.status_code == 200
    assert [r.status_code for r in writes] == [201, 200, 200, 200]
    assert entity["added_by"] is None and writes[1].get_json()["updated_by"] is None


def test_demo_mode_ignores_tokens_even_bad_ones(es256_app):
    client = es256_app(AUTH_DISABLED=True).test_client()

    response = create(client, label="x", headers={"Authorization": "Bearer not.a.token"})

    assert response.status_code == 201
    assert response.get_json()["added_by"] is None


# Normal mode: writes need media_store_write (or admin), reads are open.


def test_writes_without_a_token_are_401_authentication_required(normal, picture):
    for response in _writes(normal, picture, {}):
        assert response.status_code == 401
        assert response.get_json() == {"detail": "Authentication required"}


@pytest.mark.parametrize("token", ["garbage", "expired", "other-key", "hs256"])
def test_bad_tokens_are_401_could_not_validate_with_a_bearer_challenge(
    normal, picture, keys, clock, token
):
    minted = {
        "garbage": lambda: "not.a.token",
        "expired": lambda: _expired(keys, clock),
        "other-key": lambda: Keys().token(clock, **WRITE),
        "hs256": lambda: _hs256(clock),
    }[token]()

    for response in _writes(normal, picture, {"Authorization": f"Bearer {minted}"}):
        assert response.status_code == 401
        assert response.get_json() == {"detail": "Could not validate credentials"}
        assert response.headers["WWW-Authenticate"] == "Bearer"


def _expired(keys, clock) -> str:
    token = keys.token(clock, **WRITE)
    clock.advance(hours=2)
    return token


def _hs256(clock) -> str:
    import jwt

    payload = {"sub": "mallory", "exp": int(clock().timestamp()) + 600, **WRITE}
    return jwt.encode(payload, "a-secret-nobody-configured-0123456789abcdef", algorithm="HS256")


def test_writes_with_a_read_only_token_are_403(normal, picture, bearer):
    for response in _writes(normal, picture, bearer(**READ)):
        assert response.status_code == 403
        assert response.get_json() == {"detail": "Not enough permissions"}


def test_writes_with_write_permission_or_admin_pass_and_record_the_author(normal, bearer):
    entity = create(normal, make_picture(), headers=bearer("alice", **WRITE)).get_json()
    patched = normal.patch(
        f"/entity/{entity['id']}", json={"body": {"label": "x"}}, headers=bearer("root", **ADMIN)
    ).get_json()

    assert entity["added_by"] == "alice"
    assert (patched["added_by"], patched["updated_by"]) == ("alice", "root")
    versions = normal.get(f"/entity/{entity['id']}/versions").get_json()
    assert [v["updated_by"] for v in versions] == ["alice", "root"]


def test_reads_are_open_while_read_auth_is_off(normal, picture):
    assert [r.status_code for r in _reads(normal, picture, {})] == [200, 200, 200, 200]


def test_auth_comes_before_the_body_is_read(normal):
    response = normal.post(
        "/entity/", data=b"--nope\r\n", headers={"Content-Type": "multipart/form-data; boundary=x"}
    )

    assert response.status_code == 401
    assert response.get_json() == {"detail": "Authentication required"}


# Read auth on: reads need media_store_read (or admin).


def test_reads_need_a_token_when_read_auth_is_on(read_auth, bearer):
    entity_id = create(read_auth, make_picture(), headers=bearer(**WRITE)).get_json()["id"]

    anonymous = _reads(read_auth, entity_id, {})
    garbage = _reads(read_auth, entity_id, {"Authorization": "Bearer nope"})
    write_only = _reads(read_auth, entity_id, bearer(**WRITE))
    reader = _reads(read_auth, entity_id, bearer(**READ))
    admin = _reads(read_auth, entity_id, bearer(**ADMIN))

    assert {r.get_json()["detail"] for r in anonymous} == {"Authentication required"}
    assert {r.get_json()["detail"] for r in garbage} == {"Could not validate credentials"}
    assert {(r.status_code, r.get_json()["detail"]) for r in write_only} == {
        (403, "Not enough permissions")
    }
    assert [r.status_code for r in reader] == [200, 200, 200, 200]
    assert [r.status_code for r in admin] == [200, 200, 200, 200]


def test_a_bad_listing_query_is_401_before_422_when_read_auth_is_on(read_auth):
    response = read_auth.get("/entity/?page=0&filter_param=nope")

    assert response.status_code == 401


# The runtime switch.


def test_admin_config_needs_an_admin(normal, bearer):
    for headers, status, detail in [
        ({}, 401, "Authentication required"),
        (bearer(**WRITE), 403, "Admin access required"),
        (bearer(permissions=["media_store_read", "media_store_write"]), 403,
         "Admin access required"),
    ]:  # fmt: skip
        got = normal.get("/admin/config", headers=headers)
        put = normal.put("/admin/config/read-auth", json={"enabled": True}, headers=headers)
        assert (got.status_code, got.get_json()) == (status, {"detail": detail})
        assert (put.status_code, put.get_json()) == (status, {"detail": detail})


def test_admin_reads_the_default_then_sets_the_switch(es256_app, bearer, clock):
    client = es256_app(READ_AUTH_ENABLED=True).test_client()
    admin = bearer("root", **ADMIN)

    before = client.get("/admin/config", headers=admin).get_json()
    clock.advance(minutes=3)
    answer = client.put("/admin/config/read-auth", json={"enabled": False}, headers=admin)
    after = client.get("/admin/config", headers=admin).get_json()

    assert before == {"read_auth_enabled": True, "updated_at": None, "updated_by": None}
    assert answer.status_code == 200
    assert answer.get_json() == {
        "read_auth_enabled": False,
        "message": "Configuration updated successfully",
    }
    assert after == {
        "read_auth_enabled": False,
        "updated_at": "2026-11-21T12:03:00Z",
        "updated_by": "root",
    }
    assert client.get("/entity/").status_code == 200


def test_the_switch_body_is_validated(normal, bearer):
    response = normal.put("/admin/config/read-auth", json={"on": 1}, headers=bearer(**ADMIN))

    assert response.status_code == 422


def test_a_second_instance_sees_the_switch_within_five_seconds(es256_app, bearer, clock):
    first, second = es256_app().test_client(), es256_app().test_client()
    assert second.get("/entity/").status_code == 200  # the second instance caches "off"

    first.put("/admin/config/read-auth", json={"enabled": True}, headers=bearer(**ADMIN))

    assert first.get("/entity/").status_code == 401  # the instance that changed it: at once
    clock.advance(seconds=4.9)
    assert second.get("/entity/").status_code == 200  # still within its cache
    clock.advance(seconds=0.1)
    assert second.get("/entity/").status_code == 401
    assert second.get("/entity/", headers=bearer(**READ)).status_code == 200
