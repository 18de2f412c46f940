"""The outbox: events are recorded durably first, then delivered, retried, or declared dead."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from services.events.base import (
    Event,
    EventBusUnavailable,
    EventRejected,
    Publisher,
    describe_error,
)

log = logging.getLogger("mediastore.events")

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
# Set while an attempt is under way; still set at the next claim, that attempt was lost.
DELIVERING = {"delivering": ""}


class Outbox:
    """One document per event: {_id: event_id, type, data, attributes, state, attempts}.

    add() is the durable write a service makes as part of the call that causes the event.
    Giving an event a deterministic id (say, one per screenshot request) makes add()
    idempotent: a retried call records the event once. relay() claims each pending event
    with a lease before publishing it, so two relays never publish the same event; a
    process that dies between publishing and marking it delivered publishes it once more
    after the lease, with the same event_id attribute, which consumers deduplicate on.

    Two failures are told apart. The bus being down (EventBusUnavailable) pauses the whole
    relay and costs the event no attempt, so events keep their order through an outage.
    One event failing (anything else) costs it an attempt: it waits on its own back-off
    (`available_at`, doubling from retry_base_seconds up to retry_max_seconds) while the
    round goes on, and after max_attempts it is `dead` until an operator retries it.
    """

    def __init__(
        self,
        collection: Any,
        publisher: Publisher,
        *,
        clock: Callable[[], datetime],
        lease_seconds: int = 60,
        max_attempts: int = 8,
        retry_base_seconds: float = 60,
        retry_max_seconds: float = 3600,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.collection = collection
        self.publisher = publisher
        self.clock = clock
        self.lease = timedelta(seconds=lease_seconds)
        self.max_attempts = max_attempts
        self.retry_base = timedelta(seconds=retry_base_seconds)
        self.retry_max = timedelta(seconds=retry_max_seconds)
        self._wake = threading.Event()
        # After the bus refuses to take anything the whole relay backs off, so events keep
        # their order.
        self._failures = 0
        self._resume_at: datetime | None = None

    def add(
        self,
        event_type: str,
        data: dict[str, Any],
        *,
        event_id: str | None = None,
        attributes: dict[str, str] | None = None,
    ) -> str:
        """Record an event for delivery; returns its id (the existing one if already added)."""
        event_id = event_id or uuid.uuid4().hex
        now = self.clock()
        try:
            self.collection.insert_one(
                {
                    "_id": event_id,
                    "type": event_type,
                    "data": data,
                    "attributes": attributes or {},
                    "state": PENDING,
                    "attempts": 0,
                    "created_at": now,
                    "available_at": now,
                }
            )
        except DuplicateKeyError:
            return event_id
        self._wake.set()
        return event_id

    def relay(self, limit: int = 100) -> int:
        """Publish the due events oldest first; returns how many were delivered."""
        if self._resume_at is not None and self.clock() < self._resume_at:
            return 0
        delivered = 0
        for _ in range(limit):
            claimed = self._claim_next()
            if claimed is None:
                break
            try:
                delivered += self._deliver(claimed)
            except EventBusUnavailable as error:
                log.warning("event %s stays pending: %s", claimed["_id"], error.message)
                self._back_off(claimed)
                break  # the bus is down: keep the rest, in order, for a later round
        return delivered

    def pending_count(self) -> int:
        """How many events wait for delivery (dead ones are not counted)."""
        return self.collection.count_documents({"state": PENDING})

    def dead_count(self) -> int:
        """How many events the relay gave up on."""
        return self.collection.count_documents({"state": DEAD})

    def stuck(self, before: datetime) -> list[dict[str, Any]]:
        """Pending events that were due before `before` and are still not delivered.

        A relay delivers an event once it is due (or backs off, moving `available_at`), so
        an event due long ago is one no relay is working on: the consistency audit's check.
        """
        return list(
            self.collection.find(
                {"state": PENDING, "available_at": {"$lt": before}},
                {"type": 1, "attempts": 1, "available_at": 1},
            )
        )

    def purge_delivered(self, older_than: timedelta) -> int:
        """Forget events delivered more than `older_than` ago; returns how many went.

        A delivered event is kept for a while so that a retried call with a deterministic
        event id still finds it and records nothing twice; after that it is history the
        service never reads, and keeping it would grow the outbox without bound.
        """
        before = self.clock() - older_than
        result = self.collection.delete_many({"state": DELIVERED, "delivered_at": {"$lt": before}})
        return result.deleted_count

    def dead_events(self) -> list[dict[str, Any]]:
        """The dead events, oldest death first."""
        return self.collection.find({"state": DEAD}, sort=[("dead_at", 1), ("_id", 1)])

    def retry_dead(self, event_ids: Iterable[str] | None = None) -> list[str]:
        """Put dead events (every one when no ids are given) back to pending with fresh attempts.

        Returns the ids that were dead and are pending again; other ids are left alone.
        """
        if event_ids is None:
            event_ids = [doc["_id"] for doc in self.dead_events()]
        revived = [event_id for event_id in event_ids if self._revive(event_id)]
        if revived:
            self._wake.set()
        return revived

    def _revive(self, event_id: str) -> bool:
        now = self.clock()
        result = self.collection.update_one(
            {"_id": event_id, "state": DEAD},
            {
                "$set": {"state": PENDING, "attempts": 0, "available_at": now, "retried_at": now},
                "$unset": {"dead_at": ""},
            },
        )
        return result.modified_count == 1

    def _claim_next(self) -> dict[str, Any] | None:
        """Take the oldest due event for one attempt, marked `delivering` until it reports back.

        The event as claimed, with `interrupted` set when the previous attempt never
        reported back (the process stopped while delivering): that attempt counts too.
        """
        now = self.clock()
        before = self.collection.find_one_and_update(
            {"state": PENDING, "available_at": {"$lte": now}},
            {
                "$set": {"available_at": now + self.lease, "delivering": True},
                "$inc": {"attempts": 1},
            },
            sort=[("created_at", 1)],
            return_document=ReturnDocument.BEFORE,
        )
        if before is None:
            return None
        claimed = {**before, "attempts": before["attempts"] + 1, "delivering": True}
        return {**claimed, "interrupted": bool(before.get("delivering"))}

    def _deliver(self, doc: dict[str, Any]) -> bool:
        """Publish one claimed event; False when it failed on its own and waits its turn.

        EventBusUnavailable passes through: the caller pauses the whole relay.
        """
        if doc["interrupted"] and doc["attempts"] > self.max_attempts:
            # The last attempt never reported back: an event that stops the process each
            # time it is delivered must not do so forever.
            self._fail(doc, "the last attempt did not finish (the process stopped)")
            return False
        event = Event(doc["_id"], doc["type"], doc["data"], doc.get("attributes") or {})
        try:
            self.publisher.publish(event)
        except EventBusUnavailable:
            raise
        except EventRejected as error:
            self._fail(doc, describe_error(error))
            return False
        except Exception as error:
            # Anything else the publisher raises concerns this event (it could not even be
            # sent): retrying it alone keeps a bad event from holding back the good ones.
            log.exception("publishing event %s failed", event.event_id)
            self._fail(doc, describe_error(error))
            return False
        self.collection.update_one(
            {"_id": doc["_id"]},
            {"$set": {"state": DELIVERED, "delivered_at": self.clock()}, "$unset": DELIVERING},
        )
        self._failures, self._resume_at = 0, None
        return True

    def _fail(self, doc: dict[str, Any], error: str) -> None:
        """Record a failed attempt: wait the event's own back-off, or declare it dead."""
        now = self.clock()
        attempts = doc["attempts"]
        if attempts >= self.max_attempts:
            log.error("event %s is dead after %d attempts: %s", doc["_id"], attempts, error)
            change: dict[str, Any] = {"state": DEAD, "dead_at": now}
        else:
            retry_at = now + self.retry_delay(attempts)
            log.warning(
                "event %s failed (attempt %d of %d), retried at %s: %s",
                doc["_id"],
                attempts,
                self.max_attempts,
                retry_at.isoformat(),
                error,
            )
            change = {"available_at": retry_at}
        # Only while our claim holds: a relay that took the event over since owns it now.
        self.collection.update_one(
            {"_id": doc["_id"], "state": PENDING, "attempts": attempts},
            {"$set": {**change, "last_error": error, "failed_at": now}, "$unset": DELIVERING},
        )

    def retry_delay(self, attempts: int) -> timedelta:
        """How long an event waits after its `attempts`-th failure."""
        return min(self.retry_max, self.retry_base * 2 ** min(max(attempts - 1, 0), 30))

    def _back_off(self, doc: dict[str, Any]) -> None:
        """Give the event back at once, attempt refunded, and pause the whole relay.

        The pause doubles up to 5 minutes; an outage of the bus is not the event's fault,
        so it never brings the event closer to dead.
        """
        now = self.clock()
        self.collection.update_one(
            {"_id": doc["_id"], "state": PENDING, "attempts": doc["attempts"]},
            {"$set": {"available_at": now}, "$inc": {"attempts": -1}, "$unset": DELIVERING},
        )
        self._failures += 1
        self._resume_at = now + timedelta(seconds=min(300, 2 ** min(self._failures, 9)))

    def wait_for_work(self, timeout: float) -> None:
        """Block until add() records something or the timeout passes."""
        self._wake.wait(timeout)
        self._wake.clear()
