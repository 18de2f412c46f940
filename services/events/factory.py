"""Build the event bus the settings ask for: Pub/Sub or in-process, behind one outbox."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from services.events.base import Publisher, Topics
from services.events.bus import EventBus
from services.events.outbox import Outbox, OutboxRelay
from services.events.router import EventRouter, Inbox, InProcessPublisher


def open_publisher(settings: Mapping[str, Any], router: EventRouter) -> Publisher:
    """EVENT_BUS=pubsub gives Google Cloud Pub/Sub; anything else the in-process bus."""
    if settings["EVENT_BUS"] == "pubsub":
        from services.events.pubsub import PubSubPublisher

        return PubSubPublisher.from_config(settings)
    return InProcessPublisher(router)


def build_event_bus(
    settings: Mapping[str, Any],
    database: Any,
    *,
    clock: Callable[[], datetime],
    publisher: Publisher | None = None,
) -> EventBus:
    """Wire outbox, router, inbox and relay; handlers are registered by their services."""
    inbox = Inbox(
        database["processed_messages"],
        clock=clock,
        ttl_hours=settings["PROCESSED_MESSAGE_TTL_HOURS"],
    )
    inbox.ensure_indexes()
    router = EventRouter(inbox)
    publisher = publisher or open_publisher(settings, router)
    outbox_collection = database["outbox"]
    outbox_collection.create_index([("state", 1), ("available_at", 1)], name="pending")
    outbox = Outbox(outbox_collection, publisher, clock=clock)
    relay = OutboxRelay(outbox, settings["OUTBOX_RELAY_INTERVAL_SECONDS"])
    return EventBus(
        outbox=outbox,
        router=router,
        topics=Topics.from_config(settings),
        publisher=publisher,
        relay=relay,
    )
