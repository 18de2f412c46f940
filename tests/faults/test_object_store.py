"""fake-gcs-server is stopped at each step of each operation and started again afterwards."""

from __future__ import annotations

import base64

import pytest
import requests

from services.storage.objects.gcs import GCSService
from tests.faults.flows import FLOWS, Ctx
from tests.faults.harness import FaultRig, check_after_fault, open_rig, run_under_fault, steps_of
from tests.fixtures.gcs import make_gcs_service
from tests.fixtures.gcs_outage import RestartableGCS


def put_to_gcs(ctx: Ctx, signed: dict, data: bytes) -> str:
    """PUT a part to its GCS signed URL; the emulator answers its MD5 in JSON, not an ETag."""
    answer = requests.put(signed["presigned_url"], data=data, headers=signed["headers"], timeout=10)
    assert answer.status_code == 200, answer.text
    return base64.b64decode(answer.json()["md5Hash"]).hex()


@pytest.fixture
def gcs_rig(tmp_path, database, clock, httpserver, restartable_gcs: RestartableGCS) -> FaultRig:
    """Every API on GCS (a server this test may stop) and the fault-counting document store."""
    bucket = restartable_gcs.create_bucket()
    # No retries: the server stays down until the request is over, so waiting only delays.
    store: GCSService = make_gcs_service(
        restartable_gcs, bucket, chunk_bytes=256 * 1024, retry=None, timeout=5.0
    )
    rig = open_rig(
        data_dir=tmp_path / "data",
        database=database,
        store=store,
        clock=clock,
        httpserver=httpserver,
        list_objects=lambda: {listed.name for listed in store.list_objects("")},
        GCS_BUCKET=bucket,
    )
    rig.ctx.put_part = put_to_gcs
    return rig


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One case per (flow, step): stop the server just before that document-store call."""
    if "step" in metafunc.fixturenames:
        cases = [
            pytest.param(flow, index, id=f"{flow.name}-{index}-{call}")
            for flow in FLOWS
            for index, call in enumerate(steps_of(flow))
        ]
        metafunc.parametrize("flow, step", cases)


def test_gcs_stopped_at_each_step_loses_nothing(gcs_rig, restartable_gcs, flow, step):
    def stop_gcs_at_step(faults) -> None:
        faults.arm(step, action=restartable_gcs.stop)

    try:
        response = run_under_fault(gcs_rig, flow, stop_gcs_at_step)
    finally:
        restartable_gcs.start()

    assert gcs_rig.faults.fired
    check_after_fault(gcs_rig, flow, response)
