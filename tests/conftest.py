"""The flaskr trio (app, client, runner) plus one fixture per boundary."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import mongomock
import pytest
from flask import Flask

from app import create_app
from app.wiring import build_services
from blueprints._http.tokens import mint_token
from config import load_config
from services.registry import Services
from services.storage.documents import SerializedDatabase
from services.storage.objects.local import LocalObjectStore
from tests.fixtures.clock import FakeClock

pytest_plugins = ["tests.fixtures.network", "tests.fixtures.gcs", "tests.fixtures.audit"]

JWT_TEST_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
SIGNING_KEY = b"test-url-signing-key"
PEER_TOKEN_SECRET = b"test-peer-token-secret-0123456789abcdef"


@pytest.fixture
def settings(tmp_path) -> dict[str, Any]:
    """Overrides every test app starts from; tests adjust them before building the app."""
    return {
        "APP_ENV": "testing",
        "DATA_DIR": str(tmp_path / "data"),
        "JWT_SECRET_KEY": JWT_TEST_SECRET,
        "URL_SIGNING_KEY": SIGNING_KEY.decode(),
    }


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def database() -> Iterator[SerializedDatabase]:
    """mongomock behind the same serialising adapter the embedded store uses."""
    db = SerializedDatabase(mongomock.MongoClient(tz_aware=True)["mediastore"])
    yield db
    db.close()


@pytest.fixture
def store(tmp_path, clock) -> LocalObjectStore:
    return LocalObjectStore(
        tmp_path / "objects",
        SIGNING_KEY,
        chunk_bytes=64 * 1024,
        clock=lambda: clock().timestamp(),
    )


@pytest.fixture
def make_app(settings, database, store, clock) -> Callable[..., Flask]:
    """Build an app from the settings plus overrides, on the test's database and store."""

    def build(store_override: Any = None, database_override: Any = None, **overrides: Any):
        profiles = overrides.pop("profiles", None)
        config = {**settings, **overrides}
        services = build_services(
            load_config(config),
            database=database_override or database,
            store=store_override or store,
            clock=clock,
            profiles=profiles,
            peer_token_secret=PEER_TOKEN_SECRET,
            signing_key=SIGNING_KEY,
        )
        return create_app(config, services=services)

    return build


@pytest.fixture
def app(make_app) -> Flask:
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def services(app) -> Services:
    return app.extensions["mediastore"]


@pytest.fixture
def token(app) -> Callable[..., str]:
    """Mint a user access token signed with the app's key; extra claims pass through."""

    def mint(
        subject: str = "alice",
        email: str | None = None,
        username: str | None = None,
        hours: float = 1.0,
        **claims: Any,
    ) -> str:
        with app.app_context():
            return mint_token(subject, hours=hours, email=email, username=username, **claims)

    return mint


@pytest.fixture
def auth(token) -> Callable[..., dict[str, str]]:
    """Authorization headers for a user."""

    def headers(subject: str = "alice", **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {token(subject, **claims)}"}

    return headers
