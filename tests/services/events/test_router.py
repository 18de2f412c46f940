"""Incoming events are handled once per message key; failures are redelivered."""

from __future__ import annotations

import mongomock
import pytest

from services.core.errors import InvalidRequest
from services.events.base import Event, EventBusUnavailable
from services.events.router import EventRouter, Inbox, InProcessPublisher, MessageInProgress
from services.storage.documents import SerializedDatabase
from tests.fixtures.clock import FakeClock


@pytest.fixture
def router():
    database = SerializedDatabase(mongomock.MongoClient(tz_aware=True)["router"])
    router = EventRouter(Inbox(database["processed"], clock=FakeClock(), ttl_hours=1))
    yield router
    database.close()


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
    with pytest.raises(RuntimeError):
        router.dispatch("t", {}, "m1")
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


def test_in_process_publisher_runs_the_handler_and_reports_transient_failures(router):
    seen = []
    router.register("ok", seen.append)
    router.register("bad", lambda data: (_ for _ in ()).throw(RuntimeError("boom")))
    router.register("invalid", lambda data: (_ for _ in ()).throw(InvalidRequest("no")))
    bus = InProcessPublisher(router)
    assert bus.publish(Event("e1", "ok", {"n": 1})) == "e1"
    assert seen == [{"n": 1}]
    with pytest.raises(EventBusUnavailable):
        bus.publish(Event("e2", "bad", {}))
    assert bus.publish(Event("e3", "invalid", {})) == "e3"  # dropped, never retried
