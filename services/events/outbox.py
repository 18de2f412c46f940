"""The outbox: events are recorded durably first, then delivered, and retried until they are."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from services.events.base import Event, EventBusUnavailable, Publisher

log = logging.getLogger("mediastore.events")

PENDING, DELIVERED = "pending", "delivered"


class Outbox:
    """One document per event: {_id: event_id, type, data, attributes, state, attempts}.

    add() is the durable write a service makes as part of the call that causes the event.
    Giving an event a deterministic id (say, one per screenshot request) makes add()
    idempotent: a retried call records the event once. relay() claims each pending event
    with a lease before publishing it, so two relays never publish the same event; a
    process that dies between publishing and marking it delivered publishes it once more
    after the lease, with the same event_id attribute, which consumers deduplicate on.
    """

    def __init__(
        self,
        collection: Any,
        publisher: Publisher,
        *,
        clock: Callable[[], datetime],
        lease_seconds: int = 60,
    ) -> None:
        self.collection = collection
        self.publisher = publisher
        self.clock = clock
        self.lease = timedelta(seconds=lease_seconds)
        self._wake = threading.Event()
        # After a failed publish the whole bus backs off, so events keep their order.
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
        """Publish pending events oldest first; returns how many were delivered."""
        if self._resume_at is not None and self.clock() < self._resume_at:
            return 0
        delivered = 0
        for _ in range(limit):
            claimed = self._claim_next()
            if claimed is None:
                break
            if self._deliver(claimed):
                delivered += 1
            else:
                break  # the bus is down: keep the rest for the next round
        return delivered

    def pending_count(self) -> int:
        """How many events wait for delivery."""
        return self.collection.count_documents({"state": PENDING})

    def _claim_next(self) -> dict[str, Any] | None:
        now = self.clock()
        return self.collection.find_one_and_update(
            {"state": PENDING, "available_at": {"$lte": now}},
            {"$set": {"available_at": now + self.lease}, "$inc": {"attempts": 1}},
            sort=[("created_at", 1)],
            return_document=ReturnDocument.AFTER,
        )

    def _deliver(self, doc: dict[str, Any]) -> bool:
        event = Event(doc["_id"], doc["type"], doc["data"], doc.get("attributes") or {})
        try:
            self.publisher.publish(event)
        except EventBusUnavailable as error:
            log.warning("event %s stays pending: %s", event.event_id, error.message)
            self._back_off(doc)
            return False
        except Exception:
            log.exception("publishing event %s failed", event.event_id)
            self._back_off(doc)
            return False
        self.collection.update_one(
            {"_id": doc["_id"]}, {"$set": {"state": DELIVERED, "delivered_at": self.clock()}}
        )
        self._failures, self._resume_at = 0, None
        return True

    def _back_off(self, doc: dict[str, Any]) -> None:
        """Give the event back at once and pause the whole relay, doubling up to 5 minutes."""
        now = self.clock()
        self.collection.update_one({"_id": doc["_id"]}, {"$set": {"available_at": now}})
        self._failures += 1
        self._resume_at = now + timedelta(seconds=min(300, 2 ** min(self._failures, 9)))

    def wait_for_work(self, timeout: float) -> None:
        """Block until add() records something or the timeout passes."""
        self._wake.wait(timeout)
        self._wake.clear()


@dataclass
class _Task:
    """Housekeeping the relay runs between rounds, and when it is next due."""

    run: Callable[[], Any]
    every: timedelta
    due_at: datetime | None = None


class OutboxRelay:
    """A daemon thread that relays the outbox as events arrive and every `interval` seconds."""

    def __init__(self, outbox: Outbox, interval: float) -> None:
        self.outbox = outbox
        self.interval = interval
        self.tasks: list[_Task] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def add_task(self, task: Callable[[], Any], every_seconds: float = 0) -> None:
        """Run `task` before relay rounds, at most once per `every_seconds` of the clock."""
        self.tasks.append(_Task(task, timedelta(seconds=every_seconds)))

    def run_once(self) -> int:
        """One round: the periodic tasks that are due, then delivery; returns events delivered."""
        now = self.outbox.clock()
        for task in self.tasks:
            if task.due_at is not None and now < task.due_at:
                continue
            task.due_at = now + task.every
            try:
                task.run()
            except Exception:
                log.exception("relay task %s failed", getattr(task.run, "__name__", task.run))
        return self.outbox.relay()

    def start(self) -> None:
        """Start the thread once per process (call after fork, never at import)."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.outbox._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("outbox relay round failed")
            self.outbox.wait_for_work(self.interval)
