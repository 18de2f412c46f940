"""Incoming events: each message handled once, by the handler of its type."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError

from services.core.errors import InvalidRequest
from services.events.base import Event, EventBusUnavailable
from services.storage.documents import drop_index_if_present

log = logging.getLogger("mediastore.events")

Handler = Callable[[dict[str, Any]], None]

PROCESSING, DONE = "processing", "done"


class MessageInProgress(EventBusUnavailable):
    """Another delivery of the same message is being handled right now; retry later."""

    default_message = "The same message is being handled; retry later"


class Inbox:
    """Processed message keys: {_id: key, state, processed_at}, expiring after a TTL.

    A delivery claims its key before the handler runs. A duplicate of a finished message
    is skipped; a duplicate of one still running is told to come back later; a claim whose
    handler failed is removed so the redelivery runs again.
    """

    def __init__(
        self, collection: Any, *, clock: Callable[[], datetime], ttl_hours: int, lease: int = 300
    ) -> None:
        self.collection = collection
        self.clock = clock
        self.ttl = timedelta(hours=ttl_hours)
        self.lease = timedelta(seconds=lease)

    def ensure_indexes(self) -> None:
        """Index the expiry that purge_expired() deletes by (no TTL index: see purge_expired)."""
        drop_index_if_present(self.collection, "processed_ttl")
        self.collection.create_index([("expires_at", 1)], name="expires")

    def purge_expired(self) -> int:
        """Forget keys processed more than PROCESSED_MESSAGE_TTL_HOURS ago, by the service clock.

        Not a TTL index: its sweeper judges expiry by the database's clock, which tests (and a
        store restored from a backup) do not share with the service.
        """
        result = self.collection.delete_many(
            {"expires_at": {"$lte": self.clock()}, "state": {"$ne": PROCESSING}}
        )
        return result.deleted_count

    def claim(self, key: str) -> bool:
        """True when this delivery should run the handler; False for a finished duplicate."""
        now = self.clock()
        doc = {
            "_id": key,
            "state": PROCESSING,
            "lease_until": now + self.lease,
            "expires_at": now + self.ttl,
        }
        try:
            self.collection.insert_one(doc)
            return True
        except DuplicateKeyError:
            pass
        taken = self.collection.find_one_and_update(
            {"_id": key, "state": PROCESSING, "lease_until": {"$lt": now}},
            {"$set": {"lease_until": now + self.lease}},
        )
        if taken is not None:
            return True
        if self.collection.find_one({"_id": key, "state": DONE}) is not None:
            return False
        raise MessageInProgress()

    def finish(self, key: str) -> None:
        self.collection.update_one(
            {"_id": key}, {"$set": {"state": DONE, "processed_at": self.clock()}}
        )

    def release(self, key: str) -> None:
        self.collection.delete_one({"_id": key, "state": PROCESSING})


class EventRouter:
    """Runs the handler registered for an event type, once per message key."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox
        self.handlers: dict[str, Handler] = {}

    def register(self, event_type: str, handler: Handler) -> None:
        """Make `handler` receive the data of every event of this type."""
        self.handlers[event_type] = handler

    def dispatch(self, event_type: str, data: Any, key: str) -> bool:
        """Handle one message; False when it was a duplicate or has no handler.

        Raises InvalidRequest when the data can never be handled (do not redeliver) and
        any other error when it might succeed later (redeliver).
        """
        handler = self.handlers.get(event_type)
        if handler is None:
            return False
        if not isinstance(data, dict):
            raise InvalidRequest("Event data must be a JSON object")
        if not self.inbox.claim(key):
            return False
        try:
            handler(data)
        except BaseException:
            self.inbox.release(key)
            raise
        self.inbox.finish(key)
        return True


class InProcessPublisher:
    """The embedded bus: delivering an event means running our own handler for it."""

    def __init__(self, router: EventRouter) -> None:
        self.router = router

    def publish(self, event: Event) -> str:
        """Run the handler now; a handler that may succeed later keeps the event pending."""
        try:
            self.router.dispatch(event.event_type, event.data, event.event_id)
        except InvalidRequest as error:
            log.warning("dropping event %s: %s", event.event_id, error.message)
        except EventBusUnavailable:
            raise
        except Exception as error:
            raise EventBusUnavailable(f"handler failed: {error}") from error
        return event.event_id

    def close(self) -> None:
        """Nothing to release."""
