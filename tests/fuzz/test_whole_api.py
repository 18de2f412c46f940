"""Schemathesis over the whole /openapi.json, as every role: the API answers as documented."""

from __future__ import annotations

import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fuzz.conftest import FUZZ_CHECKS

DOCUMENTED = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

schema = schemathesis.pytest.from_fixture("fuzzed_schema")


@schema.parametrize()
def test_every_operation_answers_as_documented(case, caller):
    checks = None if FUZZ_CHECKS == "all" else DOCUMENTED
    case.call_and_validate(headers=caller.headers(case), checks=checks)
