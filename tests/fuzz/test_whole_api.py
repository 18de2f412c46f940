"""Schemathesis over the whole /openapi.json, as every role: the API answers as documented."""

from __future__ import annotations

import hypothesis
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fuzz.settings import FUZZ_CHECKS, FUZZ_EXAMPLES, FUZZ_STATEFUL

# What `make test` holds the API to; `make fuzz` (FUZZ_CHECKS=all) adds schemathesis' others.
DOCUMENTED = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
CHECKS = None if FUZZ_CHECKS == "all" else DOCUMENTED

schema = schemathesis.pytest.from_fixture("fuzzed_schema")


@schema.parametrize()
def test_every_operation_answers_as_documented(case, caller, role, tally):
    response = case.call_and_validate(headers=caller.headers(case), checks=CHECKS)
    tally.add(role.name, case, response.status_code)


@pytest.mark.skipif(not FUZZ_STATEFUL, reason="the stateful run is part of make fuzz")
def test_sequences_of_calls_answer_as_documented(fuzzed_schema, caller, role, tally):
    """Chains of calls that feed one answer's ids into the next request (inferred links)."""

    class Scenarios(fuzzed_schema.as_state_machine()):
        def get_call_kwargs(self, case):
            return {"headers": caller.headers(case)}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            tally.add(f"{role.name} (stateful)", case, response.status_code)
            case.validate_response(
                response, checks=CHECKS, headers=kwargs.get("headers"), transport_kwargs=kwargs
            )

    Scenarios.run(
        settings=hypothesis.settings(
            max_examples=FUZZ_EXAMPLES,
            stateful_step_count=8,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
    )
