"""The app the fuzz run calls, once per role: seeded with one of everything."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from blueprints._http.tokens import mint_token
from services.screenshots.records import is_safe_id
from tests.fixtures.entities import create, make_picture
from tests.fuzz.settings import (
    FUZZ_CHECKS,
    FUZZ_COVERAGE,
    FUZZ_EXAMPLES,
    FUZZ_REPORT,
    FUZZ_STATEFUL,
    schemathesis_config,
)
from tests.helpers import BOUNDARY, multipart, upload
from tests.media import make_video


@dataclass(frozen=True)
class Role:
    """One kind of caller: the claims of its user token and the settings of its app."""

    name: str
    subject: str | None = None  # None: it sends no user token
    claims: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    peer: bool = False  # sends a peer's one-time screenshot token instead


ROLES = (
    Role("anonymous"),
    Role("user", "alice"),
    Role("admin", "root", {"is_admin": True}),
    Role("internal", "billing", {"permissions": ["media_internal"]}),
    Role(
        "entity-reader",
        "reader",
        {"permissions": ["media_store_read"]},
        {"READ_AUTH_ENABLED": True},
    ),
    Role("entity-writer", "writer", {"permissions": ["media_store_write"]}),
    Role("peer", peer=True),
)


@dataclass
class Seeds:
    """What the seeded app holds: the ids a fuzzed path parameter may name."""

    filename: str = "clip.mp4"
    media_id: str = ""
    entity_ids: list[int] = field(default_factory=list)
    upload_id: str = ""
    catalog_id: str = "c1"

    def config(self) -> dict[str, Any]:
        """Schemathesis settings: half of the fuzzed ids name something that exists."""
        known = {
            "filename": [self.filename],
            "media_id": [self.media_id],
            "entity_id": self.entity_ids,
            "upload_id": [self.upload_id],
            "catalog_id": [self.catalog_id],
        }
        return {
            "dictionaries": {name: {"values": values} for name, values in known.items()},
            "parameters": {
                f"path.{name}": {"dictionary": name, "probability": 0.5} for name in known
            },
        }


class Peers:
    """The peer registry and edge service: every catalog item has one peer, p1 at edge e1."""

    def __init__(self, httpserver: HTTPServer) -> None:
        self.tokens: list[str] = []
        self.base_url = httpserver.url_for("/").rstrip("/")
        catalog = re.compile(r"/api/peers/catalog/.+")
        httpserver.expect_request(catalog).respond_with_handler(self.registry)
        edge = re.compile(r"/api/edge/[^/]+/screenshot/request")
        httpserver.expect_request(edge, method="POST").respond_with_handler(self.edge)

    def registry(self, request: Request) -> Response:
        catalog_id = request.path.rsplit("/", 1)[1]
        body = [{"peer_id": "p1", "edge_id": "e1", "catalog_ids": [catalog_id]}]
        return Response(json.dumps(body), content_type="application/json")

    def edge(self, request: Request) -> Response:
        self.tokens.append(request.get_json()["token"])
        return Response(status=202)


class Caller:
    """The Authorization header a role sends with each fuzzed request."""

    def __init__(self, role: Role, app: Flask, peers: Peers) -> None:
        self.role, self.app, self.peers = role, app, peers
        self.user_token = None
        if role.subject:
            with app.app_context():
                self.user_token = mint_token(role.subject, hours=24 * 365, **role.claims)

    def headers(self, case: schemathesis.Case) -> dict[str, str]:
        """The role's bearer token; a peer gets a fresh one-time token for the case's item."""
        if self.user_token:
            return {"Authorization": f"Bearer {self.user_token}"}
        if self.role.peer:
            return {"Authorization": f"Bearer {self.peer_token_for(case)}"}
        return {}

    def peer_token_for(self, case: schemathesis.Case) -> str:
        """A fresh token for a screenshot upload (tokens are spent); one token elsewhere."""
        if case.operation.label == "POST /api/screenshot/{catalog_id}":
            return self.peer_token((case.path_parameters or {}).get("catalog_id"))
        if not self.peers.tokens:
            self.peer_token("c1")
        return self.peers.tokens[0]

    def peer_token(self, catalog_id: Any) -> str:
        """Offer a new screenshot request for the item to the peer; its token (else c1's)."""
        if not is_safe_id(catalog_id):
            catalog_id = "c1"
        screenshots = self.app.extensions["mediastore"].screenshots
        screenshots.handle_requested({"catalog_id": catalog_id, "request_id": uuid.uuid4().hex})
        return self.peers.tokens[-1]


def seed(app: Flask) -> Seeds:
    """Store one video, one media file, a collection holding an image and a part upload."""
    client, seeds = app.test_client(), Seeds()
    with app.app_context():
        user = {"Authorization": f"Bearer {mint_token('alice')}"}
        admin = {"Authorization": f"Bearer {mint_token('root', is_admin=True)}"}
    assert upload(client, user, make_video("mp4"), seeds.filename).status_code == 200
    body = multipart(make_picture("PNG"), "photo.png", content_type="image/png")
    media = client.post(
        "/api/v1/media/upload",
        data=body,
        headers={**user, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    assert media.status_code == 201, media.get_json()
    seeds.media_id = media.get_json()["id"]
    collection = create(client, headers=admin, label="Holidays")
    image = create(
        client, make_picture("JPEG"), admin, label="Beach", parent_id=collection.get_json()["id"]
    )
    seeds.entity_ids = [collection.get_json()["id"], image.get_json()["id"]]
    session = client.post("/api/multipart/create/", json={"filename": "rec.webm"}, headers=user)
    assert session.status_code == 201, session.get_json()
    seeds.upload_id = session.get_json()["id"]
    return seeds


@pytest.fixture(params=ROLES, ids=[role.name for role in ROLES])
def role(request) -> Role:
    return request.param


@pytest.fixture
def peers(httpserver) -> Peers:
    return Peers(httpserver)


@pytest.fixture
def fuzzed_app(make_app, role, peers) -> tuple[Flask, Seeds]:
    """The role's app, on the test's store and database, seeded."""
    app = make_app(
        PEER_REGISTRY_URL=peers.base_url, EDGE_SERVICE_URL=peers.base_url, **role.settings
    )
    return app, seed(app)


@pytest.fixture
def fuzzed_schema(fuzzed_app):
    app, seeds = fuzzed_app
    return schemathesis.openapi.from_wsgi(
        "/openapi.json", app, config=schemathesis_config(seeds.config())
    )


@pytest.fixture
def caller(role, fuzzed_app, peers) -> Caller:
    return Caller(role, fuzzed_app[0], peers)


@pytest.fixture(autouse=True)
def node_id_for_schemathesis(request) -> None:
    """Give the item the `_nodeid` attribute schemathesis' lazy schemas rename (pytest 9.2
    derives `nodeid` from `_id` and no longer has it); reports keep pytest's own id."""
    request.node._nodeid = request.node.nodeid


class Tally:
    """Counts what the run sent and got back, per role and status, for docs/benchmarks.md."""

    def __init__(self) -> None:
        self.cases: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.operations: set[str] = set()

    def add(self, role: str, case: schemathesis.Case, status: int) -> None:
        self.cases[role] += 1
        self.statuses[status] += 1
        self.operations.add(case.operation.label)

    def summary(self, seconds: float) -> dict[str, Any]:
        return {
            "examples_per_operation": FUZZ_EXAMPLES,
            "checks": FUZZ_CHECKS,
            "coverage_phase": FUZZ_COVERAGE,
            "stateful": FUZZ_STATEFUL,
            "operations": len(self.operations),
            "cases": sum(self.cases.values()),
            "cases_per_role": dict(self.cases),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "minutes": round(seconds / 60, 1),
        }


@pytest.fixture(scope="session")
def tally() -> Iterator[Tally]:
    """Count the run's cases; with FUZZ_REPORT=<path>, write the figures there as JSON."""
    counts, started = Tally(), time.monotonic()
    yield counts
    if FUZZ_REPORT and counts.cases:
        summary = counts.summary(time.monotonic() - started)
        Path(FUZZ_REPORT).write_text(json.dumps(summary, indent=2) + "\n")
