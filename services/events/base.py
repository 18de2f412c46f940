"""What every event-bus part agrees on: the event, the publisher contract, topic names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from services.core.errors import MediastoreError


class EventBusUnavailable(MediastoreError):
    """The bus cannot take anything now; the whole relay backs off and events keep their order."""

    default_message = "Event bus is temporarily unavailable"


class EventRejected(MediastoreError):
    """This one event failed (its handler raised, or the bus refused it); the others go on.

    The outbox retries it on its own back-off until EVENT_MAX_ATTEMPTS, then marks it dead.
    """

    default_message = "The event failed; it is retried on its own"


# Longest error text kept on a record: enough to diagnose, never a whole traceback.
MAX_ERROR_CHARS = 1000


def describe_error(error: BaseException) -> str:
    """A short text for an error, as the outbox and inbox keep it in `last_error`."""
    text = error.message if isinstance(error, MediastoreError) else str(error)
    cause = error.__cause__
    if isinstance(error, EventRejected) and cause is not None:
        text = f"{text}: {type(cause).__name__}: {cause}"
    return f"{type(error).__name__}: {text}"[:MAX_ERROR_CHARS]


@dataclass(frozen=True)
class Event:
    """One event: a type, a JSON object, and string attributes (event_id, event_type, ...)."""

    event_id: str
    event_type: str
    data: dict[str, Any]
    attributes: dict[str, str] = field(default_factory=dict)

    def message_attributes(self) -> dict[str, str]:
        """Attributes every message carries: ours plus event_id and event_type."""
        return {**self.attributes, "event_id": self.event_id, "event_type": self.event_type}


class Topics:
    """Maps event types to topic names and back; each feature registers its own types.

    The bus knows no feature: the wiring of a feature registers the event types it
    publishes or handles, with the topic name its settings give (default: the type itself).
    """

    def __init__(self, names: Mapping[str, str] | None = None) -> None:
        self._by_type: dict[str, str] = {}
        self._by_topic: dict[str, str] = {}
        for event_type, topic in (names or {}).items():
            self.register(event_type, topic)

    def register(self, event_type: str, topic: str | None = None) -> None:
        """Send events of this type to `topic` (the type itself when not given)."""
        topic = topic or event_type
        if self._by_topic.get(topic, event_type) != event_type:
            raise ValueError(f"topic {topic} already carries {self._by_topic[topic]}")
        self._by_type[event_type] = topic
        self._by_topic[topic] = event_type

    def topic_for(self, event_type: str) -> str:
        """The topic events of this type go to (the type itself when unregistered)."""
        return self._by_type.get(event_type, event_type)

    def event_type_of(self, topic: str) -> str | None:
        """The event type a topic carries, or None for a topic nobody registered."""
        return self._by_topic.get(topic)

    def __iter__(self):
        return iter(list(self._by_type.items()))


class Publisher(Protocol):
    """Sends events to their topics.

    publish() returns once the bus has accepted the event (a Pub/Sub message id, or the
    event id for the in-process bus). It raises EventBusUnavailable when the bus cannot be
    reached (the outbox pauses the whole relay and keeps the order), and EventRejected when
    this event failed on its own (the outbox retries it alone and carries on with the rest).
    """

    def publish(self, event: Event) -> str:
        """Send one event to the topic of its type."""

    def close(self) -> None:
        """Flush and release clients."""
