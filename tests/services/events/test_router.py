"""Incoming events are handled once per message key; failures are redelivered until the
maximum, then the message is dead-lettered and acknowledged."""

from __future__ import annotations

import mongomock
import pytest

from services.core.errors import InvalidRequest, NotFound
from services.events.base import Event, EventRejected
from services.events.router import DEAD, EventRouter, Inbox, InProcessPublisher, MessageInProgress
from services.storage.documents import SerializedDatabase
from tests.fixtures.clock import FakeClock


@pytest.fixture
def router():
    database = SerializedDatabase(mongomock.MongoClient(tz_aware=True)["router"])
    inbox = Inbox(database["processed"], clock=FakeClock(), ttl_hours=1)
    router = EventRouter(inbox, max_attempts=3)
    yield router
    database.close()


def poison(data):
    raise RuntimeError("boom")


def deliver_until_dead(router: EventRouter, key: str, data: dict) -> None:
    """Redeliver a message of type "t" as Pub/Sub would, until the router buries it."""
    for _ in range(router.max_attempts - 1):
        with pytest.raises(EventRejected):
            router.dispatch("t", data, key)
    assert router.dispatch("t", data, key) is False


def test_duplicate_message_is_skipped(router):
    seen = []
    router.register("t", seen.append)
    assert router.dispatch("t", {"n": 1}, "m1") is True
    assert router.dispatch("t", {"n": 1}, "m1") is False
    assert seen == [{"n": 1}]


def test_failed_handler_runs_again_on_redelivery(router):
    calls = []

    def flaky(data):
        calls.append(data)
        if len(calls) == 1:
            raise RuntimeError("transient")

    router.register("t", flaky)
    with pytest.raises(EventRejected) as failed:
        router.dispatch("t", {}, "m1")
    assert isinstance(failed.value.__cause__, RuntimeError)
    assert router.dispatch("t", {}, "m1") is True
    assert len(calls) == 2


def test_message_being_handled_elsewhere_is_retried_later(router):
    router.inbox.claim("m1")
    router.register("t", lambda data: None)
    with pytest.raises(MessageInProgress):
        router.dispatch("t", {}, "m1")


def test_unknown_type_and_non_object_data(router):
    assert router.dispatch("nobody.listens", {}, "m1") is False
    router.register("t", lambda data: None)
    with pytest.raises(InvalidRequest):
        router.dispatch("t", ["not", "an", "object"], "m2")


def test_in_process_publisher_runs_the_handler_and_rejects_the_event_it_fails(router):
    seen = []
    router.register("ok", seen.append)
    router.register("bad", poison)
    router.register("invalid", lambda data: (_ for _ in ()).throw(InvalidRequest("no")))
    bus = InProcessPublisher(router)
    assert bus.publish(Event("e1", "ok", {"n": 1})) == "e1"
    assert seen == [{"n": 1}]
    with pytest.raises(EventRejected):
        bus.publish(Event("e2", "bad", {}))
    assert bus.publish(Event("e3", "invalid", {})) == "e3"  # dropped, never retried


def test_in_process_publisher_leaves_the_counting_to_the_outbox(router):
    router.register("bad", poison)
    bus = InProcessPublisher(router)
    for _ in range(router.max_attempts + 2):
        with pytest.raises(EventRejected):
            bus.publish(Event("e1", "bad", {}))
    assert router.inbox.dead_count() == 0


def test_message_failing_every_delivery_is_dead_lettered_and_acked_at_the_maximum(router):
    calls = []
    router.register("t", lambda data: (calls.append(data), poison(data)))
    for _ in range(2):
        with pytest.raises(EventRejected):
            router.dispatch("t", {"n": 1}, "m1")
    assert router.dispatch("t", {"n": 1}, "m1") is False  # returns normally: acknowledged
    [dead] = router.inbox.dead_messages()
    assert dead["_id"] == "m1" and dead["state"] == DEAD
    assert (dead["type"], dead["data"], dead["attempts"]) == ("t", {"n": 1}, 3)
    assert dead["last_error"].endswith("RuntimeError: boom")
    assert dead["dead_at"] == router.inbox.clock()
    assert router.dispatch("t", {"n": 1}, "m1") is False  # a late redelivery is not run
    assert len(calls) == 3


def test_message_failing_twice_then_succeeding_is_handled_once(router):
    calls = []

    def twice_broken(data):
        calls.append(data)
        if len(calls) <= 2:
            raise ConnectionError("registry hiccup")

    router.register("t", twice_broken)
    for _ in range(2):
        with pytest.raises(EventRejected):
            router.dispatch("t", {}, "m1")
    assert router.dispatch("t", {}, "m1") is True
    assert router.dispatch("t", {}, "m1") is False
    assert len(calls) == 3 and router.inbox.dead_count() == 0


def test_retry_dead_runs_the_handler_again_and_marks_the_message_done(router):
    router.register("t", poison)
    deliver_until_dead(router, "m1", {"n": 1})
    with pytest.raises(EventRejected):
        router.retry_dead("m1")  # still broken: stays dead, with the new attempt counted
    [dead] = router.inbox.dead_messages()
    assert dead["attempts"] == 4

    seen = []
    router.register("t", seen.append)
    router.retry_dead("m1")
    assert seen == [{"n": 1}] and router.inbox.dead_count() == 0
    assert router.dispatch("t", {"n": 1}, "m1") is False  # done: a redelivery is skipped
    with pytest.raises(NotFound):
        router.retry_dead("m1")


def test_dead_messages_outlive_the_dedupe_window(router):
    router.register("t", poison)
    router.inbox.ensure_indexes()
    deliver_until_dead(router, "m1", {})
    router.inbox.clock.advance(hours=24 * 30)
    assert router.inbox.purge_expired() == 0
    assert router.inbox.dead_count() == 1


def test_data_the_handler_refuses_is_not_run_again_on_redelivery(router):
    calls = []

    def refuse(data):
        calls.append(data)
        raise InvalidRequest("catalog_id is required")

    router.register("t", refuse)
    with pytest.raises(InvalidRequest):
        router.dispatch("t", {}, "m1")
    assert router.dispatch("t", {}, "m1") is False
    assert len(calls) == 1
