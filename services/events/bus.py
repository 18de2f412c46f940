"""The event bus as the rest of the service sees it: publish, relay, receive a push."""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Mapping
from typing import Any

from services.core.errors import InvalidRequest, NotFound
from services.events.base import Publisher, Topics
from services.events.outbox import Outbox, OutboxRelay
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
    except (binascii.Error, ValueError, TypeError) as error:
        raise InvalidRequest("Push message data is not base64-encoded JSON") from error
    if not isinstance(data, dict):
        raise InvalidRequest("Event data must be a JSON object")
    return data, str(key or message_id)


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
        """Handle a Pub/Sub push to `topic`; False when it was already handled."""
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

    def close(self) -> None:
        """Stop the relay and release the publisher."""
        self.relay.stop()
        self.publisher.close()
