"""MediaUploaded: recorded in the outbox for every stored file, exactly once, never for an undo.

A file is committed with `event_pending: true`. Right after, announce() adds the event to the
outbox under a deterministic id (`media.uploaded:<id>`, so adding it twice records it once) and
clears the flag. A crash between the commit and the clearing leaves the flag, and
finish_pending() (a relay housekeeping task) does the rest: settles the upload's hold if it is
still there, adds the event, clears the flag. A file that was undone never reached the commit,
so it never has an event.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, Protocol

from services.core.reservations import Holds
from services.media.records import MediaRecords

log = logging.getLogger("mediastore.media")

MEDIA_UPLOADED = "MediaUploaded"
INVOICE_GENERATED = "InvoiceGenerated"


class OutboxLike(Protocol):
    def add(self, event_type: str, data: dict[str, Any], *, event_id: str | None = None) -> str:
        """Record an event durably for delivery (idempotent per event_id)."""


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, to the second: 2024-02-01T10:30:00Z."""
    return moment.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def uploaded_event(doc: dict[str, Any]) -> dict[str, Any]:
    """The seed's MediaUploaded body for a stored record."""
    return {
        "event_type": MEDIA_UPLOADED,
        "media_id": doc["_id"],
        "context_type": doc.get("context_type"),
        "context_id": doc.get("context_id"),
        "file_type": doc["file_type"],
        "timestamp": iso_utc(doc["stored_at"]),
    }


class Announcer:
    """Puts the MediaUploaded event of committed records into the outbox (module docstring)."""

    def __init__(self, *, records: MediaRecords, outbox: OutboxLike, holds: Holds) -> None:
        self.records = records
        self.outbox = outbox
        self.holds = holds

    def announce(self, doc: dict[str, Any]) -> None:
        """Add the record's event to the outbox and clear its flag."""
        if doc.get("charged"):
            # Normally settled already by the write path; a no-op then.
            self.holds.settle(doc["owner"], doc["_id"])
        self.outbox.add(
            MEDIA_UPLOADED, uploaded_event(doc), event_id=f"media.uploaded:{doc['_id']}"
        )
        self.records.clear_pending(doc["_id"])

    def finish_pending(self) -> int:
        """Announce every record a crash left flagged; returns how many."""
        done = 0
        for doc in self.records.pending_events():
            try:
                self.announce(doc)
                done += 1
            except Exception:
                log.exception("announcing media %s failed; retried next round", doc["_id"])
        return done
