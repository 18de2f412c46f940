"""`flask events ...`: publish, relay, and what an operator does with dead events."""

from __future__ import annotations

import json
import threading
import time

import pytest

from app.wiring.events import pubsub_consumer
from services.screenshots.events import SCREENSHOTS_COMPLETED, SCREENSHOTS_REQUESTED
from tests.fixtures.pubsub_emulator import pubsub_emulator  # noqa: F401


class Handler:
    """A handler for SCREENSHOTS_REQUESTED that fails until it is fixed."""

    def __init__(self) -> None:
        self.broken = True
        self.calls: list[dict] = []

    def __call__(self, data: dict) -> None:
        self.calls.append(data)
        if self.broken:
            raise RuntimeError("registry says no")


@pytest.fixture
def handler(app) -> Handler:
    handler = Handler()
    app.extensions["mediastore"].events.router.register(SCREENSHOTS_REQUESTED, handler)
    return handler


@pytest.fixture
def kill(app, runner, clock):
    """Publish an event whose handler fails, and relay it until it is dead."""
    bus = app.extensions["mediastore"].events

    def publish_until_dead(data: dict) -> str:
        event_id = bus.publish(SCREENSHOTS_REQUESTED, data)
        for _ in range(bus.outbox.max_attempts):
            clock.advance(hours=1)  # past any back-off
            runner.invoke(args=["events", "relay"])
        assert bus.outbox.collection.find_one({"_id": event_id})["state"] == "dead"
        return event_id

    return publish_until_dead


def test_publish_refuses_data_that_is_not_a_json_object(runner):
    result = runner.invoke(args=["events", "publish", "x.y", "[1, 2]"])
    assert result.exit_code != 0 and "JSON object" in result.output
    result = runner.invoke(args=["events", "publish", "x.y", "{nope"])
    assert result.exit_code != 0 and "not JSON" in result.output


def test_publish_and_relay_deliver_to_pubsub_after_an_outage(make_app, pubsub_emulator, clock):  # noqa: F811
    app = make_app(
        EVENT_BUS="pubsub",
        PUBSUB_EMULATOR_HOST=pubsub_emulator.host,
        GCP_PROJECT=pubsub_emulator.project,
    )
    app.extensions["mediastore"].events.publisher.timeout = 2
    runner = app.test_cli_runner()
    pubsub_emulator.stop()
    result = runner.invoke(args=["events", "publish", SCREENSHOTS_COMPLETED, '{"n": 1}'])
    assert result.exit_code == 0 and "pending" in result.output
    pubsub_emulator.restart()
    clock.advance(seconds=10)
    result = runner.invoke(args=["events", "relay"])
    assert result.exit_code == 0 and "delivered 1, pending 0" in result.output
    [message] = pubsub_emulator.messages(SCREENSHOTS_COMPLETED)
    assert json.loads(message.data) == {"n": 1}


def test_relay_prints_pending_and_dead_counts(runner, handler, kill, app):
    kill({"n": 1})
    app.extensions["mediastore"].events.publish(SCREENSHOTS_REQUESTED, {"n": 2})
    result = runner.invoke(args=["events", "relay"])
    assert result.exit_code == 0
    assert result.output.splitlines()[-1] == "delivered 0, pending 1, dead 1, dead messages 0"


def test_dead_lists_dead_events_as_text_and_as_json(runner, handler, kill, clock):
    assert runner.invoke(args=["events", "dead"]).output == "no dead events\n"
    event_id = kill({"n": 1})

    [line] = runner.invoke(args=["events", "dead"]).output.splitlines()
    assert line.startswith(f"outbox {event_id} {SCREENSHOTS_REQUESTED} attempts=8 dead_at=")
    assert line.endswith("RuntimeError: registry says no")

    result = runner.invoke(args=["events", "dead", "--json"])
    [record] = [json.loads(line) for line in result.output.splitlines()]
    assert record["source"] == "outbox" and record["id"] == event_id
    assert record["type"] == SCREENSHOTS_REQUESTED and record["attempts"] == 8
    assert record["data"] == {"n": 1} and "registry says no" in record["last_error"]
    assert record["dead_at"] == clock.now.isoformat()


def test_retry_brings_a_dead_event_back_and_it_is_delivered_once_fixed(runner, handler, kill):
    event_id = kill({"n": 1})
    handler.broken = False
    result = runner.invoke(args=["events", "retry", event_id])
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        f"outbox {event_id} pending",
        "delivered 1, pending 0, dead 0, dead messages 0",
    ]
    assert handler.calls[-1] == {"n": 1} and len(handler.calls) == 9
    assert runner.invoke(args=["events", "relay"]).output.startswith("delivered 0,")
    assert len(handler.calls) == 9


def test_retry_all_revives_every_dead_event(runner, handler, kill):
    ids = {kill({"n": 1}), kill({"n": 2})}
    handler.broken = False
    result = runner.invoke(args=["events", "retry", "--all"])
    assert result.exit_code == 0
    assert {line.split()[1] for line in result.output.splitlines()[:2]} == ids
    assert "delivered 2, pending 0, dead 0" in result.output


def test_retry_of_an_unknown_id_says_so_exits_1_and_retries_nothing(runner, handler, kill):
    event_id = kill({"n": 1})
    result = runner.invoke(args=["events", "retry", event_id, "no-such-event"])
    assert result.exit_code == 1
    assert "No dead event or message with id no-such-event" in result.output
    assert f"outbox {event_id}" in runner.invoke(args=["events", "dead"]).output


def test_retry_needs_ids_or_all_but_not_both(runner):
    assert runner.invoke(args=["events", "retry"]).exit_code == 2
    assert runner.invoke(args=["events", "retry", "x", "--all"]).exit_code == 2


def test_message_failing_every_pull_delivery_is_acked_dead_listed_and_retried(
    make_app,
    pubsub_emulator,  # noqa: F811
):
    app = make_app(
        EVENT_BUS="pubsub",
        EVENT_MAX_ATTEMPTS=3,
        PUBSUB_EMULATOR_HOST=pubsub_emulator.host,
        GCP_PROJECT=pubsub_emulator.project,
    )
    bus = app.extensions["mediastore"].events
    handler = Handler()
    bus.router.register(SCREENSHOTS_REQUESTED, handler)
    consumer = pubsub_consumer(app.config, bus.topics, bus.receive_message)
    subscription = consumer.subscriptions()[SCREENSHOTS_REQUESTED]
    stop = threading.Event()
    thread = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_until(lambda: subscription in pubsub_emulator.subscriptions())
        event_id = bus.publish(SCREENSHOTS_REQUESTED, {"n": 1})
        assert bus.relay.run_once() == 1
        wait_until(lambda: bus.router.inbox.dead_count() == 1)
        wait_until(lambda: pubsub_emulator.unacked(subscription) == 0)  # acked at the third
        time.sleep(0.5)
        assert len(handler.calls) == 3  # and never redelivered since
    finally:
        stop.set()
        thread.join(timeout=15)

    runner = app.test_cli_runner()
    [line] = runner.invoke(args=["events", "dead"]).output.splitlines()
    assert line.startswith(f"inbox {event_id} {SCREENSHOTS_REQUESTED} attempts=3 dead_at=")

    result = runner.invoke(args=["events", "retry", event_id])  # still broken
    assert result.exit_code == 1
    assert result.output.startswith(f"inbox {event_id} dead (EventRejected: Handler for")
    handler.broken = False
    result = runner.invoke(args=["events", "retry", event_id])
    assert result.exit_code == 0 and result.output == f"inbox {event_id} handled\n"
    assert handler.calls[-1] == {"n": 1} and len(handler.calls) == 5
    assert runner.invoke(args=["events", "dead"]).output == "no dead events\n"


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)
