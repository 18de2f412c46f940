"""Service tests build the entity feature the way the wiring does, on the test's stores."""

from __future__ import annotations

import pytest

from app.wiring.entities import build_entities
from config import load_config
from services.core.ingest import Ingest


@pytest.fixture
def entity_settings(settings):
    return load_config({**settings, "AUTH_DISABLED": True})


@pytest.fixture
def entities(entity_settings, database, store, clock):
    return build_entities(
        entity_settings, database=database, store=store, ingest=Ingest(store), clock=clock
    )
