"""The event bus as the rest of the service sees it: publish, relay, receive, dead letters."""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.core.errors import InvalidRequest, NotFound
from services.core.nesting import nested_deeper_than
from services.events.base import EventRejected, Publisher, Topics, describe_error
from services.events.outbox import Outbox
from services.events.relay import OutboxRelay
from services.events.router import EventRouter

log = logging.getLogger("mediastore.events")


def decode_push(envelope: Any) -> tuple[dict[str, Any], str]:
    """Pull the event data and its dedupe key out of a Pub/Sub push envelope.

    The key is the event_id attribute when the publisher set one (so a republished event
    is recognised), else the Pub/Sub message id. Anything malformed is InvalidRequest:
    it can never succeed, so Pub/Sub must not redeliver it.
    """
    message = envelope.get("message") if isinstance(envelope, Mapping) else None
    if not isinstance(message, Mapping):
        raise InvalidRequest("Push envelope has no message")
    attributes = message.get("attributes") or {}
    message_id = message.get("messageId") or message.get("message_id")
    key = attributes.get("event_id") if isinstance(attributes, Mapping) else None
    if not (key or message_id):
        raise InvalidRequest("Push message has no messageId")
    try:
        data = json.loads(base64.b64decode(message.get("data") or "", validate=True))
    except (binascii.Error, ValueError, TypeError, RecursionError) as error:
        raise InvalidRequest("Push message data is not base64-encoded JSON") from error
    if not isinstance(data, dict):
        raise InvalidRequest("Event data must be a JSON object")
    if nested_deeper_than(data):
        raise InvalidRequest("Event data is nested too deeply")
    return data, str(key or message_id)


@dataclass(frozen=True)
class DeadLetter:
    """An event the bus gave up on: never delivered (outbox) or never handled (inbox)."""

    source: str  # "outbox" or "inbox"
    key: str
    event_type: str
    attempts: int
    last_error: str
    dead_at: datetime | None
    data: dict[str, Any]

    @classmethod
    def from_record(cls, source: str, record: Mapping[str, Any]) -> DeadLetter:
        """Read an outbox or inbox record."""
        return cls(
            source=source,
            key=str(record["_id"]),
            event_type=record.get("type", ""),
            attempts=record.get("attempts", 0),
            last_error=record.get("last_error", ""),
            dead_at=record.get("dead_at"),
            data=record.get("data") or {},
        )


@dataclass(frozen=True)
class Retried:
    """What retrying one dead letter did.

    `pending` (an outbox event the relay delivers next), `handled` (an inbox message whose
    handler succeeded), `dead` again (with the error), `dropped` (the handler refused the
    data for good) or `not dead` (someone retried it meanwhile).
    """

    source: str
    key: str
    state: str
    error: str = ""


class EventBus:
    """Publishing goes through the outbox; receiving goes through the router."""

    def __init__(
        self,
        *,
        outbox: Outbox,
        router: EventRouter,
        topics: Topics,
        publisher: Publisher,
        relay: OutboxRelay,
    ) -> None:
        self.outbox = outbox
        self.router = router
        self.topics = topics
        self.publisher = publisher
        self.relay = relay

    def publish(self, event_type: str, data: dict[str, Any], event_id: str | None = None) -> str:
        """Record an event durably; the relay delivers it."""
        return self.outbox.add(event_type, data, event_id=event_id)

    def receive_push(self, topic: str, envelope: Any) -> bool:
        """Handle a Pub/Sub push to `topic`; False when already handled or just dead-lettered.

        Raises EventRejected while the handler fails below EVENT_MAX_ATTEMPTS (answer 503 so
        Pub/Sub redelivers); at the maximum the message is dead-lettered and acknowledged.
        """
        event_type = self.topics.event_type_of(topic)
        if event_type is None or event_type not in self.router.handlers:
            raise NotFound(f"No handler for topic {topic}")
        data, key = decode_push(envelope)
        return self.router.dispatch(event_type, data, key)

    def receive_message(
        self, topic: str, payload: bytes, attributes: Mapping[str, str], message_id: str
    ) -> bool:
        """Handle a message from streaming pull; one that can never succeed is dropped.

        Returning normally acks the message; raising nacks it for redelivery, which is
        only useful for failures that may pass.
        """
        event_type = self.topics.event_type_of(topic)
        try:
            if event_type is None:
                raise NotFound(f"No handler for topic {topic}")
            data = json.loads(payload)
            return self.router.dispatch(event_type, data, attributes.get("event_id") or message_id)
        except (InvalidRequest, NotFound, ValueError) as error:
            log.warning("dropping message %s on %s: %s", message_id, topic, error)
            return False

    def dead_letters(self) -> list[DeadLetter]:
        """The dead events of the outbox, then the dead messages of the inbox."""
        return [DeadLetter.from_record("outbox", r) for r in self.outbox.dead_events()] + [
            DeadLetter.from_record("inbox", r) for r in self.router.inbox.dead_messages()
        ]

    def retry_dead(self, keys: Iterable[str] | None = None) -> list[Retried]:
        """Give dead letters (all when no keys) another chance; NotFound names unknown keys.

        Outbox events go back to pending with fresh attempts (the relay delivers them);
        inbox messages run their handler again now, and stay dead if it fails again.
        Nothing is retried when a key is unknown, so a typo never half-runs a command.
        """
        dead = self.dead_letters()
        if keys is None:
            chosen = dead
        else:
            wanted = list(dict.fromkeys(keys))
            unknown = sorted(set(wanted) - {letter.key for letter in dead})
            if unknown:
                raise NotFound(f"No dead event or message with id {', '.join(unknown)}")
            chosen = [letter for letter in dead if letter.key in wanted]
        return [self._retry(letter) for letter in chosen]

    def _retry(self, letter: DeadLetter) -> Retried:
        if letter.source == "outbox":
            revived = self.outbox.retry_dead([letter.key])
            return Retried(letter.source, letter.key, "pending" if revived else "not dead")
        try:
            self.router.retry_dead(letter.key)
        except EventRejected as error:
            return Retried(letter.source, letter.key, "dead", describe_error(error))
        except InvalidRequest as error:  # the handler says it can never succeed
            return Retried(letter.source, letter.key, "dropped", describe_error(error))
        except NotFound:  # retried meanwhile by someone else
            return Retried(letter.source, letter.key, "not dead")
        return Retried(letter.source, letter.key, "handled")

    def close(self) -> None:
        """Stop the relay and release the publisher."""
        self.relay.stop()
        self.publisher.close()
