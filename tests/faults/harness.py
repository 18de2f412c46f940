"""The fault rig: the whole app on a document store that fails on cue, and the way back."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import mongomock
from pytest_httpserver import HTTPServer

from app import create_app
from app.wiring import build_services
from blueprints._http.tokens import mint_token
from config import load_config
from services.storage.documents import SerializedDatabase
from services.storage.objects.local import LocalObjectStore
from tests.conftest import JWT_TEST_SECRET, PEER_TOKEN_SECRET, SIGNING_KEY
from tests.faults import invariants
from tests.faults.flows import Ctx, Flow
from tests.fixtures.audit import assert_fsck_clean
from tests.fixtures.clock import FakeClock
from tests.fixtures.failing import FaultyDatabase, StepFaults
from tests.fixtures.screenshots import build_rig

# Past every upload lease (UPLOAD_LEASE_SECONDS, an hour), short of a part session's TTL.
PAST_THE_LEASES = {"hours": 2}


@dataclasses.dataclass
class FaultRig:
    """A flow's context plus what the faults and the checks reach for."""

    ctx: Ctx
    faults: StepFaults
    database: Any  # the real store underneath, for the checks
    faulty: FaultyDatabase
    clock: FakeClock
    list_objects: Callable[[], set[str]]

    @property
    def services(self) -> Any:
        return self.ctx.app.extensions["mediastore"]


def open_rig(
    *,
    data_dir: Path,
    database: Any,
    store: Any,
    clock: FakeClock,
    httpserver: HTTPServer,
    list_objects: Callable[[], set[str]],
    **settings: Any,
) -> FaultRig:
    """Build the app (every API) on the faulty database, the screenshot service on the rig."""
    faults = StepFaults()
    faulty = FaultyDatabase(database, faults)
    config = {
        "APP_ENV": "testing",
        "DATA_DIR": str(data_dir),
        "JWT_SECRET_KEY": JWT_TEST_SECRET,
        "URL_SIGNING_KEY": SIGNING_KEY.decode(),
        "AUTH_DISABLED": True,  # the entity API's demo mode; the other APIs still want tokens
        **settings,
    }
    services = build_services(
        load_config(config),
        database=faulty,
        store=store,
        clock=clock,
        peer_token_secret=PEER_TOKEN_SECRET,
        signing_key=SIGNING_KEY,
    )
    shots = build_rig(httpserver, database=faulty, store=store, clock=clock)
    services = dataclasses.replace(services, screenshots=shots.service)
    app = create_app(config, services=services)
    with app.app_context():
        user = {"Authorization": f"Bearer {mint_token('alice', hours=72)}"}
        internal = mint_token("billing", hours=72, permissions=["media_internal"])
    ctx = Ctx(app, app.test_client(), user, {"Authorization": f"Bearer {internal}"}, shots)
    return FaultRig(ctx, faults, database, faulty, clock, list_objects)


def recover(rig: FaultRig) -> None:
    """The stores answer again; leases run out; every housekeeping task runs as in production."""
    rig.faults.disarm()
    rig.clock.advance(**PAST_THE_LEASES)
    services = rig.services
    services.videos.uploads.reclaim_abandoned()  # `flask reclaim-uploads`
    services.parts.reclaim()
    rig.ctx.rig.service.resume_completions()
    services.events.relay.run_once()  # sweepers, purges, announcers, then delivery


def assert_consistent(rig: FaultRig) -> None:
    """Quota balances, no orphan object, no claim past its lease, every event delivered;
    and the consistency audit (`flask fsck`) agrees."""
    database = rig.database
    invariants.assert_accounts_balance(database)
    objects = rig.list_objects()
    invariants.assert_no_orphans(database, list(rig.faulty.collections), objects)
    invariants.assert_records_have_objects(database, objects)
    invariants.assert_no_claims_outlive_their_lease(database, rig.clock())
    invariants.assert_outbox_delivered(database)
    assert_fsck_clean(rig.ctx.app)


def run_under_fault(rig: FaultRig, flow: Flow, arm: Callable[[StepFaults], None]) -> Any:
    """Set the flow up, arm the fault, run the request; return the response."""
    flow.prepare(rig.ctx)
    arm(rig.faults)
    try:
        return flow.act(rig.ctx)
    finally:
        rig.faults.armed = False  # count no further; an outage stays until recover()


def assert_nothing_lost(rig: FaultRig, flow: Flow, response: Any) -> None:
    """A success is in place; after a failure the client's retry succeeds, at once or once
    the failed attempt's lease has run out (a claim the undo could not drop holds its name).
    """
    rig.faults.disarm()
    if response.status_code in flow.ok:
        if not flow.done(rig.ctx):
            recover(rig)  # what the request left to housekeeping (say, an event) is done
        assert flow.done(rig.ctx), f"{flow}: answered {response.status_code} but is not in place"
        return
    answers = []
    for _attempt in range(2):
        if flow.done(rig.ctx):
            return  # it took effect though its answer was lost, or the retry made it
        retry = flow.act(rig.ctx)
        answers.append((retry.status_code, retry.get_data()[:200]))
        assert retry.status_code in (*flow.ok, *flow.retry_ok, 409), answers
        recover(rig)
    assert flow.done(rig.ctx), f"{flow}: not in place after retries answered {answers}"


def check_after_fault(rig: FaultRig, flow: Flow, response: Any) -> None:
    """Nothing lost (the client retries), then, after housekeeping, everything consistent."""
    assert response.status_code in (*flow.ok, 503), (response.status_code, response.get_data())
    assert_nothing_lost(rig, flow, response)
    recover(rig)
    assert_consistent(rig)


@contextlib.contextmanager
def scratch_rig() -> Iterator[FaultRig]:
    """A throw-away rig (mongomock, a temporary local store) for counting steps at collection."""
    with tempfile.TemporaryDirectory() as tmp, HTTPServer() as httpserver:
        database = SerializedDatabase(mongomock.MongoClient(tz_aware=True)["mediastore"])
        store = LocalObjectStore(Path(tmp, "objects"), SIGNING_KEY, chunk_bytes=64 * 1024)
        rig = open_rig(
            data_dir=Path(tmp, "data"),
            database=database,
            store=store,
            clock=FakeClock(),
            httpserver=httpserver,
            list_objects=set,
        )
        try:
            yield rig
        finally:
            rig.services.close()


@functools.cache
def steps_of(flow: Flow) -> tuple[str, ...]:
    """The document-store calls the flow's request makes, counted on a fault-free run."""
    with scratch_rig() as rig:
        response = run_under_fault(rig, flow, lambda faults: faults.arm())
        assert response.status_code in flow.ok, (flow.name, response.get_data())
        return tuple(rig.faults.calls)
