"""The event bus from settings: Pub/Sub or in-process behind one outbox; push verification."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from services.events.base import Publisher, Topics
from services.events.bus import EventBus
from services.events.outbox import Outbox
from services.events.push_auth import NoVerification, PushVerifier
from services.events.relay import OutboxRelay
from services.events.router import EventRouter, Inbox, InProcessPublisher

# How often expired records are purged by the relay (they are ignored from the moment they expire).
HOUSEKEEPING_SECONDS = 300


def pubsub_project(settings: Mapping[str, Any]) -> str:
    """GCP_PROJECT, or "local" on an emulator; Pub/Sub cannot be used without one."""
    emulator = settings.get("PUBSUB_EMULATOR_HOST")
    project = settings.get("GCP_PROJECT") or ("local" if emulator else None)
    if not project:
        raise ValueError("GCP_PROJECT must be set to use Pub/Sub without an emulator")
    return project


def pubsub_publisher(settings: Mapping[str, Any], topics: Topics) -> Any:
    """Publish to GCP_PROJECT, or to the emulator (creating topics) when one is named."""
    from services.events.pubsub import PubSubPublisher

    host = settings.get("PUBSUB_EMULATOR_HOST") or None
    return PubSubPublisher(
        pubsub_project(settings), topics, emulator_host=host, create_topics=bool(host)
    )


def pubsub_consumer(settings: Mapping[str, Any], topics: Topics, handler: Any) -> Any:
    """Consume every registered topic; on an emulator create the topics and subscriptions."""
    from services.events.pubsub import PubSubConsumer

    host = settings.get("PUBSUB_EMULATOR_HOST") or None
    return PubSubConsumer(
        pubsub_project(settings),
        topics,
        handler,
        subscription_prefix=settings.get("PUBSUB_SUBSCRIPTION_PREFIX") or "mediastore",
        emulator_host=host,
        create_subscriptions=bool(host),
    )


def push_verifier(settings: Mapping[str, Any]) -> PushVerifier | NoVerification:
    """Verify push tokens; NoVerification only when PUBSUB_VERIFY_PUSH is off."""
    if not settings["PUBSUB_VERIFY_PUSH"]:
        return NoVerification()
    return PushVerifier(
        settings.get("PUBSUB_PUSH_AUDIENCE"),
        settings.get("PUBSUB_PUSH_SERVICE_ACCOUNT"),
        certs_url=settings["PUBSUB_PUSH_CERTS_URL"],
    )


def build_event_bus(
    settings: Mapping[str, Any],
    database: Any,
    *,
    clock: Callable[[], datetime],
    publisher: Publisher | None = None,
) -> EventBus:
    """Wire outbox, router, inbox and relay; each feature registers its topics and handlers."""
    inbox = Inbox(
        database["processed_messages"],
        clock=clock,
        ttl_hours=settings["PROCESSED_MESSAGE_TTL_HOURS"],
    )
    inbox.ensure_indexes()
    max_attempts = settings["EVENT_MAX_ATTEMPTS"]
    router = EventRouter(inbox, max_attempts=max_attempts)
    topics = Topics()
    if publisher is None:
        if settings["EVENT_BUS"] == "pubsub":
            publisher = pubsub_publisher(settings, topics)
        else:
            publisher = InProcessPublisher(router)
    outbox_collection = database["outbox"]
    outbox_collection.create_index([("state", 1), ("available_at", 1)], name="pending")
    outbox_collection.create_index([("state", 1), ("dead_at", 1)], name="dead")
    outbox_collection.create_index([("state", 1), ("delivered_at", 1)], name="delivered")
    outbox = Outbox(outbox_collection, publisher, clock=clock, max_attempts=max_attempts)
    relay = OutboxRelay(outbox, settings["OUTBOX_RELAY_INTERVAL_SECONDS"])
    relay.add_task(inbox.purge_expired, every_seconds=HOUSEKEEPING_SECONDS)
    retention = timedelta(hours=settings["OUTBOX_RETENTION_HOURS"])

    def purge_delivered_events() -> int:
        return outbox.purge_delivered(retention)

    relay.add_task(purge_delivered_events, every_seconds=HOUSEKEEPING_SECONDS)
    return EventBus(outbox=outbox, router=router, topics=topics, publisher=publisher, relay=relay)
