"""How a fuzz run is sized and shaped (FUZZ_* variables), and what Schemathesis checks where."""

from __future__ import annotations

import os
from typing import Any

import schemathesis

# `make test` runs a few examples per operation and role; `make fuzz` many more.
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
FUZZ_SEED = int(os.environ.get("FUZZ_SEED", "20261203"))
# `all` adds schemathesis' other checks (negative data rejected, auth not ignored, ...).
FUZZ_CHECKS = os.environ.get("FUZZ_CHECKS", "documented")
# `1` adds the coverage phase: every boundary value and missing field, deterministically.
FUZZ_COVERAGE = os.environ.get("FUZZ_COVERAGE", "") == "1"
# `1` adds the stateful run: sequences of calls linked by the ids they answer.
FUZZ_STATEFUL = os.environ.get("FUZZ_STATEFUL", "") == "1"
# Where to write the run's figures (operations, cases, statuses, minutes) as JSON.
FUZZ_REPORT = os.environ.get("FUZZ_REPORT", "")


# With every check on (`make fuzz`), schema-valid requests must be accepted, except where
# acceptance turns on what no JSON schema states: the bytes sent, or the state of the store.
ACCEPTANCE_BEYOND_THE_SCHEMA = {
    "POST /upload": "the file must decode as a video (else 415)",
    "POST /api/v1/media/upload": "the file must be an allowed image or document (else 415)",
    "POST /api/upload/simple/": "the file must decode as a video (else 415)",
    "POST /api/screenshot/{catalog_id}": "the files must be images (else 415)",
    "POST /entity/": "an image is required unless is_collection (400), and must be one (415)",
    "PUT /entity/{entity_id}": "as POST /entity/, and is_collection never changes (400)",
    "PATCH /entity/{entity_id}": "a parent_id must name an existing collection (422)",
    "GET /entity/": "filter_param is `field:value` over named fields (422)",
    "POST /api/v1/media/invoices/generate-pdf": "invoice_data values are printable scalars (422)",
    "POST /api/multipart/{upload_id}/register-part/": "the part must be in storage (400)",
    "POST /api/multipart/{upload_id}/complete/": "every listed part must be registered (400)",
    "POST /api/multipart/create/": "a file name holds no `/`, control or invisible characters",
}


# Flask answers OPTIONS with every method of every route the path matches, and
# /api/v1/media/upload also matches /api/v1/media/{media_id} (GET, DELETE: a 404 for the
# id "upload", which no media has: ids are UUIDs). The Allow header says so, truthfully.
ALLOW_OF_OVERLAPPING_ROUTES = {"POST /api/v1/media/upload"}


# Booleans are read as the FastAPI originals (pydantic) read them: 0 and 1 too, and in
# forms and query strings `on`/`off`, `yes`/`no`; Schemathesis takes those as invalid.
LAX_BOOLEANS = {
    "POST /api/v1/media/upload",
    "POST /entity/",
    "PUT /entity/{entity_id}",
    "PATCH /entity/{entity_id}",
    "GET /entity/",
    "PUT /admin/config/read-auth",
}


# Schemathesis' own list of refusals (its 5xx aside: no 5xx is ever right), plus 413.
REFUSALS = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]


def checks_off() -> dict[str, list[str]]:
    """The checks each operation is spared under `make fuzz`, for the reasons above."""
    spared: dict[str, list[str]] = {}
    for name in ACCEPTANCE_BEYOND_THE_SCHEMA:
        spared.setdefault(name, []).append("positive_data_acceptance")
    for name in ALLOW_OF_OVERLAPPING_ROUTES:
        spared.setdefault(name, []).append("allow_header_conformance")
    for name in LAX_BOOLEANS:
        spared.setdefault(name, []).append("negative_data_rejection")
    return spared


def schemathesis_config(known: dict[str, Any]) -> schemathesis.Config:
    """A fixed seed, derandomized, FUZZ_EXAMPLES per operation, checks per FUZZ_CHECKS."""
    phases: dict[str, Any] = {
        "examples": {"enabled": True},
        "fuzzing": {"enabled": True},
        "coverage": {"enabled": FUZZ_COVERAGE},
        "stateful": {"enabled": FUZZ_STATEFUL, "max-steps": 8},
    }
    return schemathesis.Config.from_dict(
        {
            "seed": FUZZ_SEED,
            "generation": {
                "mode": "all",
                "max-examples": FUZZ_EXAMPLES,
                "deterministic": True,
                "database": "none",
                # Each role sends its own Authorization header (Caller), whatever the case.
                "with-security-parameters": False,
            },
            "phases": phases,
            # A request refused for its size (413: a parts list past 10,000 is over the JSON
            # body limit before it is over maxItems) is refused all the same.
            "checks": {"negative_data_rejection": {"expected-statuses": REFUSALS}},
            "operations": [
                {"include-name": name, "checks": {check: {"enabled": False} for check in checks}}
                for name, checks in checks_off().items()
            ],
            **known,
        }
    )
