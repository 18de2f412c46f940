"""Configuration: production refuses to start misconfigured; development needs nothing."""

from __future__ import annotations

import pytest

from app import create_app
from config import ConfigError, load_config

PRODUCTION = {
    "APP_ENV": "production",
    "GCS_BUCKET": "bucket",
    "MONGO_URI": "mongodb://db.invalid:27017",
    "JWT_SECRET_KEY": "s" * 40,
    "PEER_TOKEN_SECRET": "p" * 40,
    "MEDIA_DOWNLOAD_TOKEN_SECRET": "m" * 40,
}


@pytest.mark.parametrize(
    "missing",
    [
        "GCS_BUCKET",
        "MONGO_URI",
        "JWT_SECRET_KEY",
        "PEER_TOKEN_SECRET",
        "MEDIA_DOWNLOAD_TOKEN_SECRET",
    ],
)
def test_production_names_the_missing_variable(missing):
    environ = {k: v for k, v in PRODUCTION.items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        load_config(environ=environ)


def test_production_with_rs256_needs_a_public_key():
    environ = {**PRODUCTION, "JWT_ALGORITHM": "RS256"}
    del environ["JWT_SECRET_KEY"]
    with pytest.raises(ConfigError, match="JWT_PUBLIC_KEY"):
        load_config(environ=environ)


def test_production_refuses_unverified_pubsub_pushes():
    with pytest.raises(ConfigError, match="PUBSUB_VERIFY_PUSH"):
        load_config(environ={**PRODUCTION, "PUBSUB_VERIFY_PUSH": "false"})


def test_production_loads_when_complete():
    settings = load_config(environ=PRODUCTION)
    assert settings["APP_ENV"] == "production" and settings["LOG_FORMAT"] == "json"


def test_unknown_app_env_is_refused():
    with pytest.raises(ConfigError, match="APP_ENV"):
        load_config(environ={"APP_ENV": "staging"})


def test_environment_values_are_parsed():
    settings = load_config(environ={"MAX_UPLOAD_BYTES": "2_000", "PORT": "9000"})
    assert settings["MAX_UPLOAD_BYTES"] == 2000 and settings["PORT"] == 9000


def test_development_runs_with_nothing_set_and_keeps_its_secret(tmp_path):
    data = str(tmp_path / "data")
    first = create_app({"APP_ENV": "development", "DATA_DIR": data})
    second = create_app({"APP_ENV": "development", "DATA_DIR": data})
    try:
        assert first.config["JWT_SECRET_KEY"] == second.config["JWT_SECRET_KEY"]
        assert len(first.config["JWT_SECRET_KEY"]) >= 32
        assert (tmp_path / "data" / "jwt-secret").stat().st_mode & 0o777 == 0o600
    finally:
        first.extensions["mediastore"].close()
        second.extensions["mediastore"].close()


@pytest.mark.parametrize("secret", ["s" * 31, "short", "é" * 15])
def test_production_refuses_an_hs256_secret_shorter_than_32_bytes(secret):
    with pytest.raises(ConfigError, match="at least 32 bytes"):
        load_config(environ={**PRODUCTION, "JWT_SECRET_KEY": secret})


def test_production_takes_an_hs256_secret_of_32_bytes():
    assert load_config(environ={**PRODUCTION, "JWT_SECRET_KEY": "s" * 32})["JWT_SECRET_KEY"]


def test_development_takes_a_short_secret():
    assert load_config(environ={"JWT_SECRET_KEY": "short"})["JWT_SECRET_KEY"] == "short"


@pytest.mark.parametrize("origins", ["*", "https://a.example, *"])
def test_production_refuses_cors_for_any_origin(origins):
    with pytest.raises(ConfigError, match="CORS_ALLOWED_ORIGINS"):
        load_config(environ={**PRODUCTION, "CORS_ALLOWED_ORIGINS": origins})


def test_production_takes_named_cors_origins():
    settings = load_config(environ={**PRODUCTION, "CORS_ALLOWED_ORIGINS": "https://a.example"})
    assert settings["CORS_ALLOWED_ORIGINS"] == "https://a.example"
