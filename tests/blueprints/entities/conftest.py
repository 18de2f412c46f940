"""The entity API's tests run in demo mode (AUTH_DISABLED) unless they are about auth."""

from __future__ import annotations

import pytest

from tests.fixtures.entities import bearer, es256_app, keys  # noqa: F401 - fixtures


@pytest.fixture
def app(make_app):
    return make_app(AUTH_DISABLED=True)


@pytest.fixture
def entities(app):
    return app.extensions["mediastore"].entities
