"""Fixtures of the storage contract tests."""

from __future__ import annotations

import pytest

from services.storage.documents import open_embedded_database


@pytest.fixture
def pair(tmp_path):
    """The same documents twice: one collection with the ordered indexes, one without."""
    db = open_embedded_database(tmp_path / "metadata", "ordered")
    yield db["indexed"], db["walked"]
    db.close()
