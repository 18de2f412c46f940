"""Fixtures of the fault tests: the fault rig on the local store or on a restartable GCS."""

from __future__ import annotations

import pytest

from tests.faults.harness import FaultRig, open_rig
from tests.faults.invariants import local_objects
from tests.fixtures.gcs_outage import restartable_gcs, restartable_gcs_server  # noqa: F401


@pytest.fixture
def fault_rig(tmp_path, database, store, clock, httpserver) -> FaultRig:
    """Every API on the local store and a document store that fails on cue."""
    return open_rig(
        data_dir=tmp_path / "data",
        database=database,
        store=store,
        clock=clock,
        httpserver=httpserver,
        list_objects=lambda: local_objects(store.root),
    )
