"""The relay: a daemon thread that delivers the outbox and runs the bus's housekeeping."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.events.outbox import Outbox

log = logging.getLogger("mediastore.events")


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
