"""The media API on the embedded store and on GCS (fake-gcs-server)."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["local", "gcs"])
def backend(request, store):
    """The object store under test: the local directory, or GCS on fake-gcs-server."""
    if request.param == "local":
        return store
    return request.getfixturevalue("gcs_store")


@pytest.fixture
def media_app(make_app, backend):
    return make_app(store_override=backend)


@pytest.fixture
def media_client(media_app):
    return media_app.test_client()
