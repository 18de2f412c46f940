"""The entity API's settings: demo mode refused in production, PUBLIC_KEY_PATH as an alias."""

from __future__ import annotations

import pytest

from config import ConfigError, load_config
from tests.app.test_config import PRODUCTION
from tests.fixtures.entities import Keys, create, make_picture


def test_production_refuses_demo_mode():
    with pytest.raises(ConfigError, match="AUTH_DISABLED"):
        load_config(environ={**PRODUCTION, "AUTH_DISABLED": "true"})


def test_entity_settings_are_read_from_the_environment():
    settings = load_config(
        environ={"AUTH_DISABLED": "yes", "READ_AUTH_ENABLED": "1", "ENTITY_MAX_FILE_BYTES": "2_048"}
    )

    assert settings["AUTH_DISABLED"] is True and settings["READ_AUTH_ENABLED"] is True
    assert settings["ENTITY_MAX_FILE_BYTES"] == 2048


def test_public_key_path_is_an_alias_of_jwt_public_key_path(tmp_path):
    key = tmp_path / "public_key.pem"
    key.write_text("pem")

    alias = load_config(environ={"PUBLIC_KEY_PATH": str(key)})
    both = load_config(environ={"PUBLIC_KEY_PATH": "other", "JWT_PUBLIC_KEY_PATH": str(key)})

    assert alias["JWT_PUBLIC_KEY_PATH"] == str(key)
    assert both["JWT_PUBLIC_KEY_PATH"] == str(key)


def test_production_accepts_es256_with_the_original_key_variable(tmp_path):
    environ = {**PRODUCTION, "JWT_ALGORITHM": "ES256", "PUBLIC_KEY_PATH": str(tmp_path / "k")}
    del environ["JWT_SECRET_KEY"]

    assert load_config(environ=environ)["JWT_PUBLIC_KEY_PATH"] == str(tmp_path / "k")


def test_tokens_verify_with_a_key_named_by_public_key_path(make_app, tmp_path, clock):
    keys = Keys()
    path = tmp_path / "public_key.pem"
    path.write_text(keys.public_pem)
    client = make_app(JWT_ALGORITHM="ES256", PUBLIC_KEY_PATH=str(path)).test_client()
    token = keys.token(clock, "alice", permissions=["media_store_write"])

    response = create(client, make_picture(), headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 201
    assert response.get_json()["added_by"] == "alice"
