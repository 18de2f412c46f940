"""PubSubPublisher and PubSubConsumer against the gRPC emulator, through the real client."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator

import grpc
import mongomock
import pytest
from google.cloud import pubsub_v1

from app.wiring.events import pubsub_consumer, pubsub_publisher
from config import load_config
from services.events.base import Event, EventBusUnavailable, EventRejected, Topics
from services.events.outbox import Outbox
from services.events.pubsub import PubSubConsumer, PubSubPublisher
from services.screenshots.events import (
    PEER_AVAILABLE,
    SCREENSHOTS_COMPLETED,
    SCREENSHOTS_REQUESTED,
)
from services.storage.documents import SerializedDatabase
from tests.fixtures.clock import FakeClock
from tests.fixtures.pubsub_emulator import PubSubEmulator, pubsub_emulator  # noqa: F401

PROJECT = "test-project"
REQUESTED = Event("evt-1", SCREENSHOTS_REQUESTED, {"media_id": "m1"}, {"user_id": "alice"})


def screenshot_topics() -> Topics:
    """The three screenshot event types, each on the topic of its own name."""
    return Topics({t: t for t in (SCREENSHOTS_REQUESTED, SCREENSHOTS_COMPLETED, PEER_AVAILABLE)})


def wait_until(condition: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


@pytest.fixture
def make_publisher(pubsub_emulator) -> Iterator[Callable[..., PubSubPublisher]]:  # noqa: F811
    made: list[PubSubPublisher] = []

    def make(topics: Topics | None = None, **options) -> PubSubPublisher:
        options = {"emulator_host": pubsub_emulator.host, "create_topics": True, **options}
        publisher = PubSubPublisher(PROJECT, topics or screenshot_topics(), **options)
        made.append(publisher)
        return publisher

    yield make
    for publisher in made:
        publisher.close()


@pytest.fixture
def run_consumer(pubsub_emulator) -> Iterator[Callable[[PubSubConsumer], None]]:  # noqa: F811
    """Run consumers in threads; stop them and check that run() returned."""
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def start(consumer: PubSubConsumer) -> None:
        thread = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
        thread.start()
        threads.append(thread)

    yield start
    stop.set()
    for thread in threads:
        thread.join(timeout=15)
        assert not thread.is_alive(), "consumer did not stop"


def test_emulator_serves_pull_and_acknowledge_to_the_raw_client(pubsub_emulator):  # noqa: F811
    subscription = pubsub_emulator.create_subscription("raw", "raw-sub")
    publisher = pubsub_v1.PublisherClient()  # reaches the emulator through PUBSUB_EMULATOR_HOST
    subscriber = pubsub_v1.SubscriberClient()
    try:
        topic = pubsub_emulator.topic_path("raw")
        message_id = publisher.publish(topic, b"hello", k="v").result(timeout=5)
        pulled = subscriber.pull(subscription=subscription, max_messages=5, timeout=5)
        [received] = pulled.received_messages
        assert (received.message.data, received.message.message_id) == (b"hello", message_id)
        assert dict(received.message.attributes) == {"k": "v"}
        assert pubsub_emulator.unacked(subscription) == 1
        subscriber.acknowledge(subscription=subscription, ack_ids=[received.ack_id])
        assert pubsub_emulator.unacked(subscription) == 0
        again = subscriber.pull(subscription=subscription, max_messages=5, timeout=5)
        assert list(again.received_messages) == []
    finally:
        publisher.stop()
        subscriber.close()


def test_publish_sends_json_and_attributes_and_returns_the_message_id(
    make_publisher,
    pubsub_emulator,  # noqa: F811
):
    message_id = make_publisher().publish(REQUESTED)

    [message] = pubsub_emulator.messages(SCREENSHOTS_REQUESTED)
    assert message.message_id == message_id
    assert json.loads(message.data) == {"media_id": "m1"}
    assert dict(message.attributes) == {
        "user_id": "alice",
        "event_id": "evt-1",
        "event_type": SCREENSHOTS_REQUESTED,
    }
    assert message.publish_time.timestamp() > 0


def test_topic_is_created_on_first_publish_only_when_asked(make_publisher, pubsub_emulator):  # noqa: F811
    path = f"projects/{PROJECT}/topics/{SCREENSHOTS_REQUESTED}"
    with pytest.raises(EventBusUnavailable, match="NotFound"):
        make_publisher(create_topics=False).publish(REQUESTED)
    assert pubsub_emulator.topics() == []

    publisher = make_publisher()
    publisher.publish(REQUESTED)
    publisher.publish(REQUESTED)  # the topic is known now: no second create

    assert pubsub_emulator.topics() == [path]
    assert len(pubsub_emulator.messages(path)) == 2


def test_topic_override_from_settings_is_used(make_publisher, pubsub_emulator):  # noqa: F811
    topics = Topics({SCREENSHOTS_REQUESTED: "custom-requests"})

    make_publisher(topics).publish(REQUESTED)

    assert len(pubsub_emulator.messages("custom-requests")) == 1
    assert pubsub_emulator.messages(SCREENSHOTS_REQUESTED) == []


def test_explicit_emulator_host_works_without_the_environment_variable(
    make_publisher,
    pubsub_emulator,  # noqa: F811
    monkeypatch,
):
    monkeypatch.delenv("PUBSUB_EMULATOR_HOST")

    make_publisher().publish(REQUESTED)

    assert len(pubsub_emulator.messages(SCREENSHOTS_REQUESTED)) == 1


def test_outage_raises_unavailable_in_bounded_time_and_restart_recovers(
    make_publisher,
    pubsub_emulator,  # noqa: F811
):
    publisher = make_publisher(timeout=2.0)
    publisher.publish(REQUESTED)
    pubsub_emulator.stop()

    started = time.monotonic()
    with pytest.raises(EventBusUnavailable):
        publisher.publish(REQUESTED)
    assert time.monotonic() - started < 6

    pubsub_emulator.restart()
    publisher.publish(REQUESTED)
    assert len(pubsub_emulator.messages(SCREENSHOTS_REQUESTED)) == 2


def test_restart_keeps_topics_subscriptions_and_undelivered_messages(
    make_publisher,
    pubsub_emulator,  # noqa: F811
):
    subscription = pubsub_emulator.create_subscription(SCREENSHOTS_REQUESTED, "keep")
    make_publisher().publish(REQUESTED)
    port = pubsub_emulator.port

    pubsub_emulator.restart()

    assert pubsub_emulator.port == port
    assert pubsub_emulator.unacked(subscription) == 1
    assert len(pubsub_emulator.topics()) == 1


def test_from_config_with_emulator_host_creates_topics(pubsub_emulator):  # noqa: F811
    settings = load_config(
        {"APP_ENV": "testing"}, environ={"PUBSUB_EMULATOR_HOST": pubsub_emulator.host}
    )
    publisher = pubsub_publisher(settings, screenshot_topics())
    try:
        publisher.publish(Event("evt-2", PEER_AVAILABLE, {"peer": "p1"}))
    finally:
        publisher.close()

    assert pubsub_emulator.topics() == [f"projects/local/topics/{PEER_AVAILABLE}"]


def test_consumer_hands_message_to_handler_and_acks_it(
    make_publisher,
    pubsub_emulator,  # noqa: F811
    run_consumer,
):
    topics = screenshot_topics()
    subscription = pubsub_emulator.create_subscription(
        SCREENSHOTS_REQUESTED, f"mediastore-{SCREENSHOTS_REQUESTED}"
    )
    message_id = make_publisher().publish(REQUESTED)
    seen: list[tuple] = []
    consumer = PubSubConsumer(
        PROJECT,
        topics,
        lambda *args: seen.append(args),
        emulator_host=pubsub_emulator.host,
        create_subscriptions=True,
    )

    run_consumer(consumer)

    wait_until(lambda: seen and pubsub_emulator.unacked(subscription) == 0)
    [(topic, data, attributes, seen_id)] = seen
    assert (topic, seen_id) == (SCREENSHOTS_REQUESTED, message_id)
    assert json.loads(data) == {"media_id": "m1"}
    assert attributes["event_id"] == "evt-1"
    assert attributes["event_type"] == SCREENSHOTS_REQUESTED
    time.sleep(0.5)
    assert len(seen) == 1  # acked: not delivered again


def test_consumer_nacks_on_handler_error_and_acks_the_redelivery(
    make_publisher,
    pubsub_emulator,  # noqa: F811
    run_consumer,
):
    calls: list[str] = []

    def flaky(topic: str, data: bytes, attributes: dict, message_id: str) -> None:
        calls.append(message_id)
        if len(calls) == 1:
            raise RuntimeError("first delivery fails")

    consumer = PubSubConsumer(
        PROJECT,
        screenshot_topics(),
        flaky,
        emulator_host=pubsub_emulator.host,
        create_subscriptions=True,
    )
    subscriptions = consumer.subscriptions()
    run_consumer(consumer)
    wait_until(lambda: set(subscriptions.values()) <= set(pubsub_emulator.subscriptions()))

    message_id = make_publisher().publish(REQUESTED)

    subscription = subscriptions[SCREENSHOTS_REQUESTED]
    wait_until(lambda: len(calls) == 2 and pubsub_emulator.unacked(subscription) == 0)
    assert calls == [message_id, message_id]


def test_consumer_from_config_subscribes_every_topic_with_the_prefix(pubsub_emulator):  # noqa: F811
    settings = load_config(
        {"APP_ENV": "testing", "PUBSUB_SUBSCRIPTION_PREFIX": "svc"},
        environ={"PUBSUB_EMULATOR_HOST": pubsub_emulator.host},
    )
    consumer = pubsub_consumer(settings, screenshot_topics(), lambda *args: None)
    stop = threading.Event()
    thread = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    thread.start()
    expected = {
        f"projects/local/subscriptions/svc-{t}"
        for t in (SCREENSHOTS_REQUESTED, SCREENSHOTS_COMPLETED, PEER_AVAILABLE)
    }
    try:
        wait_until(lambda: expected <= set(pubsub_emulator.subscriptions()))
    finally:
        stop.set()
        thread.join(timeout=15)
    assert not thread.is_alive()


def test_consumer_run_raises_unavailable_when_its_subscription_is_missing(pubsub_emulator):  # noqa: F811
    consumer = PubSubConsumer(
        PROJECT, screenshot_topics(), lambda *args: None, emulator_host=pubsub_emulator.host
    )

    with pytest.raises(EventBusUnavailable, match="stream"):
        consumer.run(threading.Event())


class SizeLimitedEmulator(PubSubEmulator):
    """Refuses a message over a size limit with INVALID_ARGUMENT, as Pub/Sub does past 10 MB."""

    limit = 1000

    def _publish(self, request, context):
        if any(len(message.data) > self.limit for message in request.messages):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Request payload size exceeds limit")
        return super()._publish(request, context)


@pytest.fixture
def strict_emulator() -> Iterator[SizeLimitedEmulator]:
    emulator = SizeLimitedEmulator().start()
    yield emulator
    emulator.stop()


def test_message_pubsub_refuses_is_rejected_alone_and_the_others_go_out(strict_emulator):
    publisher = PubSubPublisher(
        PROJECT, screenshot_topics(), emulator_host=strict_emulator.host, create_topics=True
    )
    database = SerializedDatabase(mongomock.MongoClient(tz_aware=True)["outbox"])
    try:
        with pytest.raises(EventRejected, match="refused"):
            publisher.publish(Event("big", SCREENSHOTS_REQUESTED, {"blob": "x" * 2000}))
        outbox = Outbox(database["outbox"], publisher, clock=FakeClock())
        big = outbox.add(SCREENSHOTS_REQUESTED, {"blob": "x" * 2000})
        outbox.add(SCREENSHOTS_REQUESTED, {"n": 1})
        assert outbox.relay() == 1
        [message] = strict_emulator.messages(SCREENSHOTS_REQUESTED)
        assert json.loads(message.data) == {"n": 1}
        assert outbox.collection.find_one({"_id": big})["attempts"] == 1
    finally:
        publisher.close()
        database.close()
