"""What every event-bus part agrees on: the event, the publisher contract, topic names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from services.errors import MediastoreError

SCREENSHOTS_REQUESTED = "media.screenshots.requested"
SCREENSHOTS_COMPLETED = "media.screenshots.completed"
PEER_AVAILABLE = "peer.available.with_requested_media"

# event type -> setting that overrides its topic name (default: the event type itself)
TOPIC_SETTINGS = {
    SCREENSHOTS_REQUESTED: "TOPIC_SCREENSHOTS_REQUESTED",
    SCREENSHOTS_COMPLETED: "TOPIC_SCREENSHOTS_COMPLETED",
    PEER_AVAILABLE: "TOPIC_PEER_AVAILABLE",
}


class EventBusUnavailable(MediastoreError):
    """The bus cannot take the event now; it stays pending and is retried."""

    default_message = "Event bus is temporarily unavailable"


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
    """Maps event types to topic names and back; new capabilities add their types here."""

    def __init__(self, names: Mapping[str, str]) -> None:
        self._by_type = dict(names)
        self._by_topic = {topic: event_type for event_type, topic in names.items()}

    @classmethod
    def from_config(cls, settings: Mapping[str, Any]) -> Topics:
        """Default topic names are the event types; TOPIC_* settings override them."""
        return cls({t: settings.get(key) or t for t, key in TOPIC_SETTINGS.items()})

    def topic_for(self, event_type: str) -> str:
        return self._by_type.get(event_type, event_type)

    def event_type_of(self, topic: str) -> str | None:
        return self._by_topic.get(topic)

    def __iter__(self):
        return iter(self._by_type.items())


class Publisher(Protocol):
    """Sends events to their topics.

    publish() returns once the bus has accepted the event (a Pub/Sub message id, or the
    event id for the in-process bus); it raises EventBusUnavailable when the bus cannot
    be reached, so the outbox keeps the event pending and retries it.
    """

    def publish(self, event: Event) -> str:
        """Send one event to the topic of its type."""

    def close(self) -> None:
        """Flush and release clients."""
