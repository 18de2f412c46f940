"""The document store fails at each step of each operation: 503 or done, and nothing lost."""

from __future__ import annotations

import pytest

from tests.faults.flows import FLOWS
from tests.faults.harness import check_after_fault, run_under_fault, steps_of

# Calls that change nothing: an answer lost after one is the same fault as one refused.
READS = {"find", "find_one", "find_page", "count_documents", "aggregate", "index_information"}


def fault_cases() -> list:
    """(flow, step, mode) for every step of every flow, counted by running each flow once.

    `after` (the write applied, its answer lost) only for writes; `down` (the store stays
    down from this step on) only where a later step exists for it to refuse.
    """
    cases = []
    for flow in FLOWS:
        steps = steps_of(flow)
        for index, call in enumerate(steps):
            modes = ["before"]
            if call.rsplit(".", 1)[1] not in READS:
                modes.append("after")
            if index < len(steps) - 1:
                modes.append("down")
            cases += [
                pytest.param(flow, index, mode, id=f"{flow.name}-{index}-{call}-{mode}")
                for mode in modes
            ]
    return cases


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "step" in metafunc.fixturenames:
        metafunc.parametrize("flow, step, mode", fault_cases())


def test_a_document_store_fault_at_each_step_loses_nothing(fault_rig, flow, step, mode):
    response = run_under_fault(fault_rig, flow, lambda faults: faults.arm(step, mode))

    assert fault_rig.faults.fired
    check_after_fault(fault_rig, flow, response)
