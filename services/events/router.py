"""Incoming events: each message handled once, by the handler of its type; poison is buried."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from services.core.errors import InvalidRequest, NotFound
from services.events.base import Event, EventRejected, describe_error
from services.storage.documents import drop_index_if_present

log = logging.getLogger("mediastore.events")

Handler = Callable[[dict[str, Any]], None]

# failed: a delivery failed and Pub/Sub redelivers it; rejected: InvalidRequest, never again.
PROCESSING, DONE, FAILED, DEAD, REJECTED = "processing", "done", "failed", "dead", "rejected"


class MessageInProgress(EventRejected):
    """Another delivery of the same message is being handled right now; retry later."""

    default_message = "The same message is being handled; retry later"


class Inbox:
    """One record per message key: {_id: key, state, attempts, expires_at, ...}.

    A delivery claims its key before the handler runs, which counts an attempt. A duplicate
    of a finished message is skipped; a duplicate of one still running is told to come back
    later; a failed delivery leaves the key `failed` (with the type, data and last error) so
    the redelivery runs again, or `dead` when the router gives up on it. Dead records stay
    until an operator retries them; the others are forgotten after the TTL.
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
        self.collection.create_index([("state", 1), ("dead_at", 1)], name="dead")

    def purge_expired(self) -> int:
        """Forget keys processed more than PROCESSED_MESSAGE_TTL_HOURS ago, by the service clock.

        Not a TTL index: its sweeper judges expiry by the database's clock, which tests (and a
        store restored from a backup) do not share with the service. Dead messages are kept.
        """
        result = self.collection.delete_many(
            {"expires_at": {"$lte": self.clock()}, "state": {"$nin": [PROCESSING, DEAD]}}
        )
        return result.deleted_count

    def claim(self, key: str) -> int | None:
        """The attempt number when this delivery should run the handler; None for a duplicate.

        A duplicate is a message already handled, rejected, or dead (a dead message runs
        again only through retry_dead). Raises MessageInProgress while another delivery of
        it holds its lease.
        """
        now = self.clock()
        try:
            self.collection.insert_one({"_id": key, "attempts": 1, **self._processing(now)})
            return 1
        except DuplicateKeyError:
            pass
        taken = self.collection.find_one_and_update(
            {
                "_id": key,
                "$or": [{"state": FAILED}, {"state": PROCESSING, "lease_until": {"$lt": now}}],
            },
            {"$set": self._processing(now), "$inc": {"attempts": 1}},
            return_document=ReturnDocument.AFTER,
        )
        if taken is not None:
            return taken["attempts"]
        if self.collection.find_one({"_id": key, "state": {"$in": [DONE, DEAD, REJECTED]}}):
            return None
        raise MessageInProgress()

    def revive(self, key: str) -> dict[str, Any] | None:
        """Claim a dead message for one more attempt; its record (type, data), or None."""
        return self.collection.find_one_and_update(
            {"_id": key, "state": DEAD},
            {"$set": self._processing(self.clock()), "$inc": {"attempts": 1}},
            return_document=ReturnDocument.AFTER,
        )

    def _processing(self, now: datetime) -> dict[str, Any]:
        return {"state": PROCESSING, "lease_until": now + self.lease, "expires_at": now + self.ttl}

    def finish(self, key: str) -> None:
        """Mark the message handled: later deliveries of it are skipped."""
        self._settle(key, DONE, processed_at=self.clock())

    def reject(self, key: str, error: str) -> None:
        """Mark the message as one that can never succeed: later deliveries are skipped."""
        self._settle(key, REJECTED, last_error=error, processed_at=self.clock())

    def fail(self, key: str, event: Event, error: str, *, dead: bool) -> None:
        """Record a failed attempt, with what is needed to run the message again later."""
        now = self.clock()
        fields = {"type": event.event_type, "data": event.data, "last_error": error}
        if dead:
            self._settle(key, DEAD, dead_at=now, failed_at=now, **fields)
        else:
            self._settle(key, FAILED, failed_at=now, **fields)

    def _settle(self, key: str, state: str, **fields: Any) -> None:
        # Only our own claim is settled: a finished or dead record is never overwritten.
        self.collection.update_one(
            {"_id": key, "state": PROCESSING}, {"$set": {"state": state, **fields}}
        )

    def dead_messages(self) -> list[dict[str, Any]]:
        """The dead messages, oldest death first."""
        return self.collection.find({"state": DEAD}, sort=[("dead_at", 1), ("_id", 1)])

    def dead_count(self) -> int:
        """How many messages the router gave up on."""
        return self.collection.count_documents({"state": DEAD})


class EventRouter:
    """Runs the handler registered for an event type, once per message key.

    A message whose handler fails max_attempts times is dead-lettered in the inbox and
    acknowledged, so Pub/Sub stops redelivering it; `flask events retry` runs it again.
    """

    def __init__(self, inbox: Inbox, *, max_attempts: int = 8) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.inbox = inbox
        self.max_attempts = max_attempts
        self.handlers: dict[str, Handler] = {}

    def register(self, event_type: str, handler: Handler) -> None:
        """Make `handler` receive the data of every event of this type."""
        self.handlers[event_type] = handler

    def dispatch(self, event_type: str, data: Any, key: str, *, dead_letter: bool = True) -> bool:
        """Handle one message; False when it was a duplicate, has no handler, or was buried.

        Raises InvalidRequest when the data can never be handled (do not redeliver), and
        EventRejected when the handler failed and a redelivery may succeed. The failure that
        reaches max_attempts dead-letters the message and returns normally (acknowledge it),
        unless dead_letter is False: the in-process bus lets the outbox count its attempts.
        """
        handler = self.handlers.get(event_type)
        if handler is None:
            return False
        if not isinstance(data, dict):
            raise InvalidRequest("Event data must be a JSON object")
        attempt = self.inbox.claim(key)
        if attempt is None:
            return False
        last = dead_letter and attempt >= self.max_attempts
        try:
            self._run(handler, Event(key, event_type, data), attempt, last=last)
        except EventRejected as error:
            if not last:
                raise
            log.error("dead-lettered %s message %s: %s", event_type, key, error.__cause__)
            return False
        return True

    def retry_dead(self, key: str) -> None:
        """Run a dead message's handler once more; raises EventRejected if it fails again.

        Success marks the message done; a failure leaves it dead with the new error.
        Raises NotFound when no dead message has this key.
        """
        record = self.inbox.revive(key)
        if record is None:
            raise NotFound(f"No dead message {key}")
        event = Event(key, record.get("type", ""), record.get("data") or {})
        handler = self.handlers.get(event.event_type)
        if handler is None:
            error = EventRejected(f"No handler for event type {event.event_type!r}")
            self.inbox.fail(key, event, describe_error(error), dead=True)
            raise error
        self._run(handler, event, record["attempts"], last=True)

    def _run(self, handler: Handler, event: Event, attempt: int, *, last: bool) -> None:
        """Run the handler and settle the claim; a failure is recorded, then raised."""
        try:
            handler(event.data)
        except InvalidRequest as error:
            self.inbox.reject(event.event_id, describe_error(error))
            raise
        except BaseException as error:
            self.inbox.fail(event.event_id, event, describe_error(error), dead=last)
            if not isinstance(error, Exception):
                raise  # interrupted rather than failed: let it stop the process
            raise EventRejected(
                f"Handler for {event.event_type} failed on {event.event_id} (attempt {attempt})"
            ) from error
        self.inbox.finish(event.event_id)


class InProcessPublisher:
    """The embedded bus: delivering an event means running our own handler for it."""

    def __init__(self, router: EventRouter) -> None:
        self.router = router

    def publish(self, event: Event) -> str:
        """Run the handler now; a failed handler raises EventRejected (the outbox retries it)."""
        try:
            self.router.dispatch(event.event_type, event.data, event.event_id, dead_letter=False)
        except InvalidRequest as error:
            log.warning("dropping event %s: %s", event.event_id, error.message)
        return event.event_id

    def close(self) -> None:
        """Nothing to release."""
