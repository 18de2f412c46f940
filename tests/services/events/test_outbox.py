"""The outbox: durable first, delivered once, kept pending while the bus is down, and a
poison event retried on its own until it is declared dead."""

from __future__ import annotations

import threading
from datetime import timedelta

import mongomock
import pytest

from services.events.base import Event, EventBusUnavailable, EventRejected
from services.events.outbox import DEAD, PENDING, Outbox
from services.events.relay import OutboxRelay
from services.events.router import EventRouter, Inbox, InProcessPublisher
from services.storage.documents import SerializedDatabase
from tests.fixtures.clock import FakeClock


class RecordingPublisher:
    """A bus that records what it accepts, can be switched off, and can refuse event types."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.down = False
        self.refused: dict[str, Exception] = {}
        self.calls: list[str] = []
        self.lock = threading.Lock()

    def publish(self, event: Event) -> str:
        self.calls.append(event.event_id)
        if self.down:
            raise EventBusUnavailable("bus is down")
        if event.event_type in self.refused:
            raise self.refused[event.event_type]
        with self.lock:
            self.events.append(event)
        return f"m{len(self.events)}"

    def close(self) -> None:
        pass


@pytest.fixture
def database():
    database = SerializedDatabase(mongomock.MongoClient(tz_aware=True)["outbox"])
    yield database
    database.close()


@pytest.fixture
def parts(database):
    publisher, clock = RecordingPublisher(), FakeClock()
    return Outbox(database["outbox"], publisher, clock=clock), publisher, clock


def relay_for(outbox: Outbox, clock: FakeClock, *, minutes: int) -> None:
    """Run a relay round every simulated minute."""
    for _ in range(minutes):
        clock.advance(minutes=1)
        outbox.relay()


def test_added_event_is_delivered_once_with_its_attributes(parts):
    outbox, publisher, _ = parts
    event_id = outbox.add("thing.happened", {"a": 1}, attributes={"origin": "test"})
    assert outbox.relay() == 1
    assert outbox.relay() == 0
    [event] = publisher.events
    assert event.event_id == event_id and event.data == {"a": 1}
    assert event.message_attributes() == {
        "origin": "test",
        "event_id": event_id,
        "event_type": "thing.happened",
    }
    assert outbox.pending_count() == 0


def test_same_event_id_is_recorded_once(parts):
    outbox, publisher, _ = parts
    assert outbox.add("t", {"n": 1}, event_id="fixed") == "fixed"
    assert outbox.add("t", {"n": 2}, event_id="fixed") == "fixed"
    outbox.relay()
    assert [e.data for e in publisher.events] == [{"n": 1}]


def test_events_stay_pending_while_the_bus_is_down_and_go_out_in_order_later(parts):
    outbox, publisher, clock = parts
    publisher.down = True
    for n in range(3):
        outbox.add("t", {"n": n})
        clock.advance(seconds=1)
    assert outbox.relay() == 0
    assert outbox.pending_count() == 3
    publisher.down = False
    assert outbox.relay() == 0  # backing off: not yet time to retry
    clock.advance(seconds=5)
    assert outbox.relay() == 3
    assert [e.data["n"] for e in publisher.events] == [0, 1, 2]


def test_concurrent_relays_never_publish_an_event_twice(parts):
    outbox, publisher, _ = parts
    for n in range(30):
        outbox.add("t", {"n": n})
    threads = [threading.Thread(target=outbox.relay) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(e.data["n"] for e in publisher.events) == list(range(30))


def test_background_relay_delivers_soon_after_add(parts):
    outbox, publisher, _ = parts
    relay = OutboxRelay(outbox, interval=30)
    relay.start()
    try:
        outbox.add("t", {"n": 1})
        for _ in range(100):
            if publisher.events:
                break
            threading.Event().wait(0.02)
        assert [e.data for e in publisher.events] == [{"n": 1}]
    finally:
        relay.stop()


def test_poison_event_never_holds_back_healthy_ones_and_dies_after_max_attempts(database):
    """The issue: one bad event held a healthy one back for 24 simulated hours."""
    clock = FakeClock()
    router = EventRouter(Inbox(database["inbox"], clock=clock, ttl_hours=72))
    handled: list[dict] = []
    router.register("poison", lambda data: (_ for _ in ()).throw(RuntimeError("boom")))
    router.register("healthy", handled.append)
    outbox = Outbox(database["outbox"], InProcessPublisher(router), clock=clock, max_attempts=8)
    poison = outbox.add("poison", {"bad": True})
    clock.advance(seconds=1)
    outbox.add("healthy", {"n": 0})

    assert outbox.relay() == 1
    assert handled == [{"n": 0}]  # delivered in the first round, behind the poison one

    failed_at = [clock()]
    for minute in range(1, 24 * 60 + 1):
        clock.advance(minutes=1)
        if minute % 60 == 0:
            outbox.add("healthy", {"n": minute})
        attempts = outbox.collection.find_one({"_id": poison})["attempts"]
        outbox.relay()
        if minute % 60 == 0:
            assert handled[-1] == {"n": minute}  # never held back, not for one round
        if outbox.collection.find_one({"_id": poison})["attempts"] > attempts:
            failed_at.append(clock())

    gaps = [(b - a).total_seconds() / 60 for a, b in zip(failed_at, failed_at[1:], strict=False)]
    assert gaps == [1, 2, 4, 8, 16, 32, 60]  # its own back-off: doubling, capped at an hour
    record = outbox.collection.find_one({"_id": poison})
    assert record["state"] == DEAD and record["attempts"] == 8
    assert record["dead_at"] == failed_at[-1]
    assert "RuntimeError: boom" in record["last_error"]
    assert (outbox.pending_count(), outbox.dead_count()) == (0, 1)
    assert len(handled) == 25


def test_event_the_bus_refuses_waits_alone_while_the_round_goes_on(parts):
    outbox, publisher, clock = parts
    publisher.refused["bad"] = EventRejected("message too large")
    bad = outbox.add("bad", {"n": 0})
    outbox.add("good", {"n": 1})
    outbox.add("good", {"n": 2})

    assert outbox.relay() == 2
    assert [e.data["n"] for e in publisher.events] == [1, 2]
    record = outbox.collection.find_one({"_id": bad})
    assert record["state"] == PENDING and record["attempts"] == 1
    assert record["available_at"] == clock() + timedelta(seconds=60)
    assert record["last_error"] == "EventRejected: message too large"
    assert outbox.relay() == 0 and publisher.calls.count(bad) == 1  # not yet due


def test_unexpected_publisher_error_concerns_only_that_event(parts):
    outbox, publisher, _ = parts
    publisher.refused["bad"] = TypeError("Object of type datetime is not JSON serializable")
    bad = outbox.add("bad", {})
    outbox.add("good", {"n": 1})

    assert outbox.relay() == 1
    record = outbox.collection.find_one({"_id": bad})
    assert record["attempts"] == 1 and record["last_error"].startswith("TypeError: Object")


def test_a_long_bus_outage_costs_no_attempts_and_keeps_the_order(parts):
    outbox, publisher, clock = parts
    publisher.down = True
    for n in range(3):
        outbox.add("t", {"n": n})
    relay_for(outbox, clock, minutes=24 * 60)
    assert outbox.dead_count() == 0
    assert [doc["attempts"] for doc in outbox.collection.find({})] == [0, 0, 0]
    publisher.down = False
    relay_for(outbox, clock, minutes=5)
    assert [e.data["n"] for e in publisher.events] == [0, 1, 2]


def test_dead_event_is_never_picked_again_until_retried(parts):
    outbox, publisher, clock = parts
    outbox.max_attempts = 2
    publisher.refused["t"] = EventRejected("no")
    event_id = outbox.add("t", {"n": 1})
    relay_for(outbox, clock, minutes=10)
    assert publisher.calls == [event_id, event_id]
    relay_for(outbox, clock, minutes=24 * 60)
    assert publisher.calls == [event_id, event_id]
    [dead] = outbox.dead_events()
    assert dead["_id"] == event_id and dead["dead_at"] is not None

    del publisher.refused["t"]
    assert outbox.retry_dead(["nope", event_id]) == [event_id]
    record = outbox.collection.find_one({"_id": event_id})
    assert (record["state"], record["attempts"], "dead_at" in record) == (PENDING, 0, False)
    assert outbox.relay() == 1
    assert [e.data for e in publisher.events] == [{"n": 1}]
    assert outbox.retry_dead([event_id]) == []  # delivered: nothing to retry


def test_retry_dead_without_ids_revives_every_dead_event(parts):
    outbox, publisher, clock = parts
    outbox.max_attempts = 1
    publisher.refused["t"] = EventRejected("no")
    ids = [outbox.add("t", {"n": n}) for n in range(3)]
    outbox.relay()
    assert outbox.dead_count() == 3
    assert sorted(outbox.retry_dead()) == sorted(ids)
    assert (outbox.pending_count(), outbox.dead_count()) == (3, 0)


def test_an_attempt_that_never_reported_back_counts_and_the_last_one_kills(parts):
    """A delivery that stops the process (the event crashes it) must not loop forever."""
    outbox, publisher, clock = parts
    outbox.max_attempts = 2
    publisher.refused["crash"] = SystemExit("worker killed")
    event_id = outbox.add("crash", {})
    for _ in range(2):
        with pytest.raises(SystemExit):
            outbox.relay()
        clock.advance(seconds=61)  # the claim's lease runs out
    assert outbox.relay() == 0
    record = outbox.collection.find_one({"_id": event_id})
    assert record["state"] == DEAD and "did not finish" in record["last_error"]
    assert record["attempts"] == 3 and "delivering" not in record
    assert publisher.calls == [event_id, event_id]


def test_pending_event_from_before_attempt_counting_is_still_delivered(parts):
    """Earlier versions counted every claim, outages included: that count is not a verdict."""
    outbox, publisher, clock = parts
    event_id = outbox.add("t", {"n": 1})
    outbox.collection.update_one({"_id": event_id}, {"$set": {"attempts": 50}})
    assert outbox.relay() == 1
    assert publisher.calls == [event_id]


def test_delivered_events_are_forgotten_after_the_retention_and_no_sooner(parts):
    outbox, publisher, clock = parts
    old = outbox.add("media.uploaded", {"n": 1}, event_id="old")
    outbox.relay()
    clock.advance(hours=2)
    young = outbox.add("media.uploaded", {"n": 2}, event_id="young")
    outbox.relay()
    publisher.down = True
    waiting = outbox.add("media.uploaded", {"n": 3}, event_id="waiting")
    outbox.relay()
    clock.advance(hours=1, seconds=1)

    assert outbox.purge_delivered(timedelta(hours=3)) == 1
    kept = {doc["_id"] for doc in outbox.collection.find({})}
    assert kept == {young, waiting} and old not in kept
    # Within the retention a retried add() with the same id still records nothing twice.
    assert outbox.add("media.uploaded", {"n": 2}, event_id="young") == young
    assert outbox.collection.count_documents({"_id": young, "state": "delivered"}) == 1


def test_dead_events_stay_for_the_operator(parts):
    outbox, publisher, clock = parts
    publisher.refused["poison"] = EventRejected("never")
    outbox.add("poison", {}, event_id="p")
    for _ in range(outbox.max_attempts):
        outbox.relay()
        clock.advance(hours=2)
    assert outbox.dead_count() == 1
    clock.advance(days=30)
    assert outbox.purge_delivered(timedelta(hours=1)) == 0
    assert outbox.dead_count() == 1
