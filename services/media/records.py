"""Media records: one document per file in `media`, what they mean and how they are found.

A record is the file's claim (services/core/claims.py) and stays its metadata once stored:
{_id: UUID, owner, kind: upload|invoice, state, object_name, original_file_name, file_name,
file_type, mime_type, file_size, generation, context_type, context_id, is_public,
expires_at, charged, event_pending, created_at, stored_at}; an invoice adds invoice_id and
invoice_number (each unique). `charged` says the bytes count toward the owner's quota (uploads
do, invoices do not); `event_pending` says its MediaUploaded event may not be in the outbox yet.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument

from services.core.claims import DELETING, STORED
from services.core.paging import Page, paginate
from services.core.sniff import EXTENSIONS, IMAGE_TYPES, PDF
from services.storage.documents import drop_index_if_present
from services.storage.objects import strong_etag

COLLECTION = "media"
UPLOAD, INVOICE = "upload", "invoice"
CONTEXT_TYPES = ("ticket_photo", "invoice_pdf", "website_media", "other")
FILE_TYPES = ("image", "pdf", "document", "other")
# Newest first; the id breaks ties, so a page boundary never splits or repeats a file.
NEWEST_FIRST = [("created_at", -1), ("_id", -1)]


def file_type_of(mime_type: str) -> str:
    """The seed's coarse type: image, pdf, document (other documents) or other."""
    if mime_type.startswith("image/"):
        return "image"
    if mime_type == PDF:
        return "pdf"
    return "document" if mime_type in EXTENSIONS else "other"


def generated_name(media_id: str, mime_type: str) -> str:
    """A safe name from the id and the sniffed type, never from the client's name."""
    stem = "photo" if mime_type in IMAGE_TYPES else file_type_of(mime_type)
    return f"{stem}_{media_id.replace('-', '')[:12]}{EXTENSIONS.get(mime_type, '')}"


def object_name_for(owner: str, media_id: str) -> str:
    """`media/<owner hash>/<id>`: where an upload's bytes live, built from ids only."""
    owner_key = hashlib.sha256(owner.encode("utf-8")).hexdigest()[:32]
    return f"media/{owner_key}/{media_id}"


@dataclass(frozen=True)
class MediaFile:
    """A stored file as the API describes it."""

    id: str
    owner: str
    kind: str
    file_name: str
    original_file_name: str
    file_type: str
    mime_type: str
    file_size: int
    context_type: str | None
    context_id: str | None
    is_public: bool
    expires_at: datetime | None
    created_at: datetime
    object_name: str
    generation: str
    charged: bool

    @property
    def etag(self) -> str:
        return strong_etag(self.generation)

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> MediaFile:
        return cls(
            id=doc["_id"],
            owner=doc["owner"],
            kind=doc.get("kind", UPLOAD),
            file_name=doc["file_name"],
            original_file_name=doc["original_file_name"],
            file_type=doc["file_type"],
            mime_type=doc["mime_type"],
            file_size=doc["file_size"],
            context_type=doc.get("context_type"),
            context_id=doc.get("context_id"),
            is_public=bool(doc.get("is_public")),
            expires_at=doc.get("expires_at"),
            created_at=doc["created_at"],
            object_name=doc["object_name"],
            generation=str(doc["generation"]),
            charged=bool(doc.get("charged")),
        )


class MediaRecords:
    """Queries and single-document changes of the `media` collection."""

    def __init__(self, collection: Any, *, clock: Callable[[], datetime]) -> None:
        self.collection = collection
        self.clock = clock

    def ensure_indexes(self) -> None:
        """Create the indexes every query below relies on (idempotent)."""
        media = self.collection
        # Listings: the owner's files, newest first. One index led by the owner: on the
        # embedded store a second index on `state` would be intersected with every file.
        # `expires_at` after the sort lets the listing's expiry filter and its count be
        # answered from the index (MongoDB and the embedded store's ordered indexes alike).
        drop_index_if_present(media, "owner_newest")
        media.create_index(
            [("owner", 1), ("state", 1), ("created_at", -1), ("_id", -1), ("expires_at", 1)],
            name="owner_newest_live",
        )
        media.create_index([("invoice_id", 1)], name="invoice_id", unique=True, sparse=True)
        media.create_index([("invoice_number", 1)], name="invoice_number", unique=True, sparse=True)
        media.create_index([("event_pending", 1)], name="event_pending", sparse=True)
        media.create_index([("expires_at", 1)], name="expires_at", sparse=True)
        media.create_index([("tombstone", 1)], name="tombstone", sparse=True)

    def visible(self, doc: dict[str, Any] | None) -> bool:
        """True for a stored file that has not expired by the service clock."""
        if doc is None or doc.get("state") != STORED:
            return False
        expires_at = doc.get("expires_at")
        return expires_at is None or expires_at > self.clock()

    def get(self, media_id: str) -> dict[str, Any] | None:
        """The record of an id, in any state."""
        return self.collection.find_one({"_id": media_id})

    def page(
        self, owner: str | None, filters: dict[str, Any], page: int, size: int
    ) -> Page[MediaFile]:
        """One page of the stored, unexpired files of an owner (of everyone: None)."""
        query: dict[str, Any] = {"state": STORED, **filters}
        if owner is not None:
            query["owner"] = owner
        query["$or"] = [{"expires_at": None}, {"expires_at": {"$gt": self.clock()}}]
        found = paginate(self.collection, query, sort=NEWEST_FIRST, page=page, size=size)
        return found.map(MediaFile.from_document)

    def mark_deleting(self, media_id: str) -> dict[str, Any] | None:
        """stored (or deleting already) -> deleting; the record, or None when there is none."""
        return self.collection.find_one_and_update(
            {"_id": media_id, "state": {"$in": [STORED, DELETING]}},
            # `tombstone` (sparse-indexed) lets housekeeping find half-done deletes by equality.
            {"$set": {"state": DELETING, "deleting_since": self.clock(), "tombstone": True}},
            return_document=ReturnDocument.AFTER,
        )

    def remove(self, media_id: str) -> bool:
        """Delete a record marked deleting; True only for the caller whose delete took effect."""
        return self.collection.delete_one({"_id": media_id, "state": DELETING}).deleted_count == 1

    def deleting(self, before: datetime, *, by_state: bool = False) -> list[dict[str, Any]]:
        """Records marked `deleting` before `before`: deletes a crash left half way.

        Found by the sparse `tombstone` flag (cheap), or `by_state` (a scan, for fsck).
        """
        query = {"state": DELETING} if by_state else {"tombstone": True}
        return [
            doc
            for doc in self.collection.find(query)
            if doc.get("state") == DELETING and doc.get("deleting_since", before) < before
        ]

    def every(self, projection: dict[str, int] | None = None) -> Any:
        """Every record, in any state (for the consistency audit)."""
        return self.collection.find({}, projection)

    def expired_ids(self, limit: int = 1000) -> list[str]:
        """Ids of stored files past expires_at, for the purge."""
        docs = self.collection.find(
            {"expires_at": {"$lte": self.clock()}, "state": {"$in": [STORED, DELETING]}},
            {"_id": 1},
            limit=limit,
        )
        return [doc["_id"] for doc in docs]

    def pending_events(self, limit: int = 1000) -> list[dict[str, Any]]:
        """Stored records whose event may not be in the outbox yet (a crash after the commit)."""
        return list(self.collection.find({"event_pending": True, "state": STORED}, limit=limit))

    def clear_pending(self, media_id: str) -> None:
        """The record's event is in the outbox."""
        self.collection.update_one(
            {"_id": media_id, "event_pending": True}, {"$unset": {"event_pending": ""}}
        )
