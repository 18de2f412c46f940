"""A screenshot service wired to a local registry and edge (pytest-httpserver)."""

from __future__ import annotations

import pytest

from tests.fixtures.screenshots import Rig, build_rig


@pytest.fixture
def rig(httpserver, database, store, clock) -> Rig:
    return build_rig(httpserver, database=database, store=store, clock=clock)
