"""The event bus: durable outbox, publishers (Pub/Sub, in-process) and idempotent handlers."""

from services.events.base import Event, EventBusUnavailable, Publisher, Topics

__all__ = ["Event", "EventBusUnavailable", "Publisher", "Topics"]
