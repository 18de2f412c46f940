"""The outbox: durable first, delivered once, kept pending while the bus is down."""

from __future__ import annotations

import threading

import mongomock
import pytest

from services.events.base import Event, EventBusUnavailable
from services.events.outbox import Outbox, OutboxRelay
from services.storage.documents import SerializedDatabase
from tests.fixtures.clock import FakeClock


class RecordingPublisher:
    """A bus that records what it accepts, and can be switched off."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.down = False
        self.lock = threading.Lock()

    def publish(self, event: Event) -> str:
        if self.down:
            raise EventBusUnavailable("bus is down")
        with self.lock:
            self.events.append(event)
        return f"m{len(self.events)}"

    def close(self) -> None:
        pass


@pytest.fixture
def parts():
    database = SerializedDatabase(mongomock.MongoClient(tz_aware=True)["outbox"])
    publisher, clock = RecordingPublisher(), FakeClock()
    yield Outbox(database["outbox"], publisher, clock=clock), publisher, clock
    database.close()


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
