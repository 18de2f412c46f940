"""A peer's upload stalled between spending its token and the gate, finished by housekeeping."""

from __future__ import annotations

from tests.faults.flows import named
from tests.faults.harness import assert_consistent, recover, run_under_fault, steps_of

SCREENSHOTS = named("screenshot-upload")
GATE = "screenshot_requests.find_one_and_update"


def test_an_upload_stalled_before_its_gate_is_finished_once_by_housekeeping_or_itself(fault_rig):
    rig = fault_rig
    service = rig.ctx.rig.service

    def stall_past_the_grace_while_housekeeping_runs() -> None:
        rig.clock.advance(minutes=10)  # past STRANDED_AFTER, short of the token's 30 minutes
        service.resume_completions()  # passes the gate for this very upload

    gate = steps_of(SCREENSHOTS).index(GATE)
    response = run_under_fault(
        rig,
        SCREENSHOTS,
        lambda faults: faults.arm(gate, action=stall_past_the_grace_while_housekeeping_runs),
    )

    assert rig.faults.fired
    assert response.status_code == 200, response.get_data()
    assert SCREENSHOTS.done(rig.ctx)
    recover(rig)
    assert_consistent(rig)
