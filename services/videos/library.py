"""A user's stored videos: status, lookup, reading, signed links and deletion."""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument

from services.core.accounts import Accounts, AccountUsage, StoredTotals, utc_day
from services.core.claims import DELETING, STORED
from services.core.cleanup import quietly
from services.core.errors import NotFound
from services.core.reservations import Holds
from services.core.usage import UsageLog
from services.core.users import User
from services.previews import Previews
from services.storage.objects import ObjectInfo, ObjectStore, strong_etag

log = logging.getLogger("mediastore.videos")

FILE_NOT_FOUND = "File not found in user's storage"
STORAGE_NOT_FOUND = "User storage not found"
# A delete younger than this is still its request's to finish (housekeeping leaves it).
TOMBSTONE_GRACE = timedelta(seconds=60)


@dataclass(frozen=True)
class StoredVideo:
    """A committed video as the metadata store describes it."""

    filename: str
    object_name: str
    size: int
    content_type: str
    generation: str

    @property
    def etag(self) -> str:
        return strong_etag(self.generation)

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> StoredVideo:
        return cls(
            doc["filename"],
            doc["object_name"],
            doc["size"],
            doc["content_type"],
            str(doc["generation"]),
        )


@dataclass(frozen=True)
class StorageStatus:
    """The account and its files, for GET /storage-status."""

    usage: AccountUsage
    files: list[dict[str, Any]]
    # Totals of the other kinds of file the account counts (the media API's "media").
    stored: dict[str, StoredTotals] = field(default_factory=dict)


@dataclass(frozen=True)
class Deletion:
    """What the caller of DELETE /delete-file is told."""

    filename: str
    size: int
    at: datetime
    deletion_volume: int
    deletion_count: int


def spellings(filename: str) -> list[str]:
    """How a requested name may be stored: in NFC (every name since), or as given (older)."""
    normal = unicodedata.normalize("NFC", filename)
    return [normal] if normal == filename else [normal, filename]


class VideoLibrary:
    """Reads and deletes committed videos; every lookup is scoped to the owner."""

    def __init__(
        self,
        *,
        files: Any,
        accounts: Accounts,
        usage: UsageLog,
        store: ObjectStore,
        clock: Callable[[], datetime],
        signed_url_ttl: int,
        previews: Previews,
        holds: Holds | None = None,
    ) -> None:
        self.files = files
        # An upload whose settle a crash skipped still has its hold; a delete settles it
        # first, or the sweeper would later give those bytes back a second time.
        self.holds = holds
        self.accounts = accounts
        self.usage = usage
        self.store = store
        self.clock = clock
        self.signed_url_ttl = signed_url_ttl
        self.previews = previews

    def status(self, user: User) -> StorageStatus:
        """The user's quota, usage and stored files (a new user sees an empty account)."""
        account = self.accounts.get(user.id)
        docs = self.files.find(
            {"owner": user.id, "state": STORED},
            {"filename": 1, "size": 1, "content_type": 1, "uploaded_at": 1},
            sort=[("filename", 1)],
        )
        files = [
            {
                "filename": f"{user.username}/{doc['filename']}",
                "name": doc["filename"],
                "size": doc["size"],
                "content_type": doc["content_type"],
                "uploaded_at": doc["uploaded_at"],
            }
            for doc in docs
        ]
        usage = self.accounts.usage(account, utc_day(self.clock()))
        return StorageStatus(usage, files, self.accounts.stored_kinds(account))

    def find(self, user: User, filename: str) -> StoredVideo:
        """The user's committed video by name; NotFound for anyone else's or a missing one."""
        doc = self.files.find_one(
            {"owner": user.id, "filename": {"$in": spellings(filename)}, "state": STORED}
        )
        if doc is None:
            raise self._not_found(user)
        return StoredVideo.from_document(doc)

    def _not_found(self, user: User) -> NotFound:
        missing = STORAGE_NOT_FOUND if self.accounts.get(user.id) is None else FILE_NOT_FOUND
        return NotFound(missing)

    def poster(self, user: User, filename: str) -> ObjectInfo:
        """The poster frame of the user's video (a JPEG), made on first request and kept."""
        video = self.find(user, filename)
        source = ObjectInfo(video.object_name, video.size, video.content_type, video.generation)
        return self.previews.preview(source)

    def read_poster(self, poster: ObjectInfo, start: int, end: int) -> Iterator[bytes]:
        """Bytes start..end inclusive of a poster from poster()."""
        return self.store.read_range(poster.name, start, end)

    def read(self, video: StoredVideo, start: int, end: int) -> Iterator[bytes]:
        """Bytes start..end inclusive of a video, in bounded chunks."""
        return self.store.read_range(video.object_name, start, end)

    def signed_url(self, user: User, filename: str) -> str:
        """A time-limited URL that streams the user's video without a bearer token."""
        video = self.find(user, filename)
        return self.store.signed_url(video.object_name, self.signed_url_ttl)

    def delete(self, user: User, filename: str) -> Deletion:
        """Delete a video from storage and metadata; safe to retry after any failure.

        Two-phase, with the record as its tombstone (each step one single-document update,
        each idempotent, see finish_delete):
        1. Mark the file `deleting` (it disappears from reads and listings at once).
        2. Delete the object (and its preview). If storage fails the caller gets 503 and the
           file stays `deleting`; a retry, the housekeeping (finish_deletes) or fsck resumes.
        3. Free the quota once: the account notes the tombstone in the same update (a hold
           the upload's crash left unsettled is settled first, so it is never given back).
        4. Delete the record; 5. drop the account's note.
        A crash anywhere leaves a tombstone that is finished later, and the quota exact:
        never freed twice (the note), never left charged (the tombstone). Only the request
        that removes the record records the deletion in the day's usage.
        """
        doc = self.files.find_one_and_update(
            {
                "owner": user.id,
                "filename": {"$in": spellings(filename)},
                "state": {"$in": [STORED, DELETING]},
            },
            # `tombstone` (sparse-indexed) lets housekeeping find half-done deletes by equality.
            {"$set": {"state": DELETING, "deleting_since": self.clock(), "tombstone": True}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            raise self._not_found(user)
        if not self.finish_delete(doc):
            raise NotFound(FILE_NOT_FOUND)
        at = self.clock()
        name = doc["filename"]
        record = self.usage.record_deletion(user, name, doc["size"], at)
        return Deletion(name, doc["size"], at, record["deletion_volume"], record["deletion_count"])

    def finish_delete(self, doc: dict[str, Any]) -> bool:
        """Steps 2-5 of delete() for a record marked `deleting`; True if this call removed it."""
        self.store.delete(doc["object_name"])
        self.previews.discard(doc["object_name"])
        tombstone = f"{self.files.name}.{doc['_id']}"
        if self.holds is not None:
            self.holds.settle(doc["owner"], str(doc["_id"]))
        self.accounts.free_once(doc["owner"], doc["size"], tombstone)
        removed = self.files.delete_one({"_id": doc["_id"], "state": DELETING}).deleted_count
        # The delete is done; a note left behind is dropped by finish_deletes.
        quietly(lambda: self.accounts.forget_freed(doc["owner"], tombstone), log)
        return removed == 1

    def finish_deletes(
        self, older_than: timedelta = TOMBSTONE_GRACE, *, thorough: bool = False
    ) -> int:
        """Finish deletes a crash or an outage left half way; returns how many were finished.

        Tombstones younger than `older_than` are left to the request still working on them.
        `thorough` (fsck --repair) finds tombstones by state, older ones without the flag
        too, and drops the account notes of deletes whose record is gone (a crash after the
        record's removal leaves one; it changes no figure).
        """
        before = self.clock() - older_than
        finished = 0
        query = {"state": DELETING} if thorough else {"tombstone": True}
        for doc in self.files.find(query):
            if doc.get("state") != DELETING or doc.get("deleting_since", before) >= before:
                continue
            if quietly(lambda d=doc: self.finish_delete(d), log):
                finished += 1
        if thorough:
            self._forget_notes()
        return finished

    def _forget_notes(self) -> None:
        for owner, record_id in self.accounts.freed_notes(self.files.name):
            if self.files.find_one({"_id": record_id}, {"_id": 1}) is None:
                tombstone = f"{self.files.name}.{record_id}"
                quietly(lambda o=owner, t=tombstone: self.accounts.forget_freed(o, t), log)
