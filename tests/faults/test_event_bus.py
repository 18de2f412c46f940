"""The Pub/Sub emulator stops while events are produced and relayed: each arrives once.

"Exactly once from our side" (docs/faults.md): every event is recorded once in the outbox
under its id, in the same step as its cause, and published until Pub/Sub has taken it,
each copy carrying that id as its `event_id` attribute for the consumer to deduplicate on.
An outage delays events; it never loses one, and never makes the relay send one twice.
"""

from __future__ import annotations

import functools
from collections import Counter

import pytest

from services.events.pubsub import PubSubPublisher
from tests.faults import flows
from tests.faults.harness import FaultRig, assert_consistent, open_rig, recover, scratch_rig
from tests.faults.invariants import local_objects
from tests.fixtures.pubsub_emulator import PubSubEmulator, pubsub_emulator  # noqa: F401

# Requests whose effects are events: two media uploads, an invoice, a peer's screenshots.
PRODUCERS = [flows.named(name) for name in ("media-upload", "invoice", "screenshot-upload")]
PAST_THE_BACK_OFF = {"minutes": 10}  # the relay pauses at most 5 minutes after an outage


def _produce(rig: FaultRig) -> None:
    """Run every producer once, each answering its success."""
    for flow in PRODUCERS:
        flow.prepare(rig.ctx)
        response = flow.act(rig.ctx)
        assert response.status_code in flow.ok, (flow.name, response.get_data())
    extra = flows.media_upload(rig.ctx.client, rig.ctx.user, flows.PNG, "second.png")
    assert extra.status_code == 201


@pytest.fixture
def pubsub_rig(tmp_path, database, store, clock, httpserver, pubsub_emulator) -> FaultRig:  # noqa: F811
    """Every API on the local store, its events going out through the emulator."""
    emulator = pubsub_emulator
    rig = open_rig(
        data_dir=tmp_path / "data",
        database=database,
        store=store,
        clock=clock,
        httpserver=httpserver,
        list_objects=lambda: local_objects(store.root),
        EVENT_BUS="pubsub",
        PUBSUB_EMULATOR_HOST=emulator.host,
        GCP_PROJECT=emulator.project,
    )
    events = rig.services.events
    # An outage costs each publish its timeout: keep it short.
    events.outbox.publisher = PubSubPublisher(
        emulator.project, events.topics, emulator_host=emulator.host, create_topics=True, timeout=1
    )
    return rig


def published_ids(emulator: PubSubEmulator) -> Counter:
    """How often each event id was published, over every topic."""
    return Counter(
        message.attributes["event_id"]
        for topic in emulator.topics()
        for message in emulator.messages(topic)
    )


def assert_each_event_published_once(rig: FaultRig, emulator: PubSubEmulator) -> None:
    """Every outbox event was delivered, and is on its topic exactly once."""
    recorded = [doc["_id"] for doc in rig.database["outbox"].find({})]
    assert len(recorded) >= len(PRODUCERS) + 1  # each producer's event, and the extra upload
    assert published_ids(emulator) == Counter(recorded)


def test_events_produced_during_an_outage_arrive_once_after_it(pubsub_rig, pubsub_emulator):  # noqa: F811
    relay = pubsub_rig.services.events.relay
    pubsub_emulator.stop()

    _produce(pubsub_rig)
    assert relay.run_once() == 0  # the bus is down: nothing goes, nothing is lost

    pubsub_emulator.start()
    pubsub_rig.clock.advance(**PAST_THE_BACK_OFF)
    recover(pubsub_rig)
    recover(pubsub_rig)

    assert_each_event_published_once(pubsub_rig, pubsub_emulator)
    assert_consistent(pubsub_rig)


@functools.cache
def relay_steps() -> tuple[str, ...]:
    """The document-store calls of the relay round that delivers the producers' events."""
    with scratch_rig() as rig:
        _produce(rig)
        rig.faults.arm()
        rig.services.events.relay.run_once()
        return tuple(rig.faults.calls)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One case per delivery step of a relay round (its outbox calls; before the first one
    the round's housekeeping runs, where a stop is the same as one before the round)."""
    if "relay_step" in metafunc.fixturenames:
        steps = [
            pytest.param(i, id=f"{i}-{call}")
            for i, call in enumerate(relay_steps())
            if i == 0 or call.startswith("outbox.")
        ]
        metafunc.parametrize("relay_step", steps)


def test_the_emulator_stopped_at_each_step_of_a_relay_round_loses_and_repeats_nothing(
    pubsub_rig,
    pubsub_emulator,  # noqa: F811
    relay_step,
):
    _produce(pubsub_rig)
    pubsub_rig.faults.arm(relay_step, action=pubsub_emulator.stop)
    try:
        pubsub_rig.services.events.relay.run_once()
    finally:
        pubsub_rig.faults.disarm()
        pubsub_emulator.start()
    assert pubsub_rig.faults.fired

    pubsub_rig.clock.advance(**PAST_THE_BACK_OFF)
    recover(pubsub_rig)
    recover(pubsub_rig)

    assert_each_event_published_once(pubsub_rig, pubsub_emulator)
    assert_consistent(pubsub_rig)
