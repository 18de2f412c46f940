"""Stored media: who may see, read and delete a file; listings; expiry and purging.

Deleting or purging a file is two-phase, the record its own tombstone; each step is one
single-document update and idempotent:
  1. mark the record `deleting` (it vanishes from reads and listings at once);
  2. delete the object: an outage answers 503 and leaves the tombstone;
  3. give the bytes back to the owner's quota and per-kind totals, once: the account notes
     the tombstone in the same update (Accounts.free_once); a hold the upload's crash left
     unsettled is settled just before, so the sweeper never gives those bytes back again;
  4. delete the record; 5. drop the account's note.
A crash or an outage anywhere leaves the tombstone, which a retried DELETE, the purge, the
housekeeping (finish_deletes) or fsck finishes: the quota ends exact, never freed twice.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from services.core.accounts import Accounts, StoredTotals
from services.core.claims import DELETING, STORED
from services.core.cleanup import quietly
from services.core.errors import NotFound, Unauthorized
from services.core.paging import Page
from services.core.reservations import Holds
from services.core.users import User
from services.media.records import COLLECTION, MediaFile, MediaRecords
from services.media.tokens import DownloadTokens
from services.storage.objects import ObjectStore

log = logging.getLogger("mediastore.media")

NOT_FOUND = "Media not found"
# A delete younger than this is still its request's to finish (housekeeping leaves it).
TOMBSTONE_GRACE = timedelta(seconds=60)


def canonical_id(media_id: str) -> str | None:
    """The id in the form records use (lower-case, hyphenated UUID), or None if it is not one."""
    try:
        return str(uuid.UUID(media_id))
    except (ValueError, AttributeError, TypeError):
        return None


class MediaLibrary:
    """Finds, streams, lists and deletes media; every refusal to another user is one 404."""

    def __init__(
        self,
        *,
        records: MediaRecords,
        store: ObjectStore,
        accounts: Accounts,
        tokens: DownloadTokens,
        clock: Callable[[], datetime],
        holds: Holds | None = None,
    ) -> None:
        self.records = records
        # An upload whose settle a crash skipped still has its hold; a delete settles it
        # first, or the sweeper would later give those bytes back a second time.
        self.holds = holds
        self.store = store
        self.accounts = accounts
        self.tokens = tokens
        self.clock = clock

    def find(self, user: User, media_id: str) -> MediaFile:
        """The file, for its owner or an admin; NotFound for anyone else, missing or expired."""
        doc = self._visible(media_id)
        if doc is None or not _may_manage(user, doc):
            raise NotFound(NOT_FOUND)
        return MediaFile.from_document(doc)

    def find_for_download(self, user: User | None, media_id: str, token: str | None) -> MediaFile:
        """The file for a download by its owner, an admin, a token holder, or anyone if public.

        A token is checked before the file is looked up (403 when it is not valid for this id,
        whatever exists). Without a user or token a private or missing file is 401, the same
        for both; a signed-in user who may not see it gets the same 404 as for a missing one.
        """
        if token is not None and not (user is not None and self._owns(user, media_id)):
            self.tokens.verify(token, canonical_id(media_id) or media_id)
            return self._file(media_id)
        doc = self._visible(media_id)
        if doc is not None and (doc.get("is_public") or (user and _may_manage(user, doc))):
            return MediaFile.from_document(doc)
        if user is None:
            raise Unauthorized()
        raise NotFound(NOT_FOUND)

    def download_token(self, media: MediaFile) -> str:
        """A fresh token that downloads this file without a bearer token."""
        return self.tokens.issue(media.id)

    def read(self, media: MediaFile, start: int, end: int) -> Iterator[bytes]:
        """Bytes start..end inclusive of a file, in bounded chunks."""
        return self.store.read_range(media.object_name, start, end)

    def list(self, user: User, filters: dict[str, Any], page: int, size: int) -> Page[MediaFile]:
        """The caller's files (every user's for an admin), newest first."""
        return self.records.page(None if user.is_admin else user.id, filters, page, size)

    def delete(self, user: User, media_id: str) -> None:
        """Delete a file of the caller's (any file for an admin); safe to retry."""
        key = canonical_id(media_id)
        doc = self.records.get(key) if key else None
        resumable = doc is not None and doc.get("state") == DELETING
        if doc is None or not (self.records.visible(doc) or resumable):
            self._purge_if_expired(doc)
            raise NotFound(NOT_FOUND)
        if not _may_manage(user, doc):
            raise NotFound(NOT_FOUND)
        self._remove(doc)

    def totals(self, user_id: str) -> StoredTotals:
        """The bytes and count of the user's stored media, from the account (no scan)."""
        return self.accounts.stored(self.accounts.get(user_id), COLLECTION)

    def purge_expired(self, batch: int = 1000) -> int:
        """Delete every file past its expiry, giving its bytes back; returns how many."""
        purged = 0
        while True:
            ids = self.records.expired_ids(batch)
            done = 0
            for media_id in ids:
                doc = self.records.get(media_id)
                if doc is not None and quietly(lambda d=doc: self._remove(d), log):
                    done += 1
            purged += done
            if len(ids) < batch or done == 0:
                return purged

    def _file(self, media_id: str) -> MediaFile:
        doc = self._visible(media_id)
        if doc is None:
            raise NotFound(NOT_FOUND)
        return MediaFile.from_document(doc)

    def _owns(self, user: User, media_id: str) -> bool:
        doc = self._visible(media_id)
        return doc is not None and _may_manage(user, doc)

    def _visible(self, media_id: str) -> dict[str, Any] | None:
        """The stored, unexpired record of an id; an expired one is purged on the way."""
        key = canonical_id(media_id)
        doc = self.records.get(key) if key else None
        if self.records.visible(doc):
            return doc
        self._purge_if_expired(doc)
        return None

    def _purge_if_expired(self, doc: dict[str, Any] | None) -> None:
        expires_at = (doc or {}).get("expires_at")
        if (
            doc is not None
            and doc.get("state") == STORED
            and expires_at
            and expires_at <= self.clock()
        ):
            # Lazily, and quietly: the caller's answer is 404 whether or not this succeeds.
            quietly(lambda: self._remove(doc), log)

    def finish_deletes(
        self, older_than: timedelta = TOMBSTONE_GRACE, *, thorough: bool = False
    ) -> int:
        """Finish deletes a crash or an outage left half way; returns how many were finished.

        Tombstones younger than `older_than` are left to the request still working on them.
        `thorough` (fsck --repair) finds tombstones by state, older ones without the flag
        too, and drops the account notes of deletes whose record is gone (a crash after the
        record's removal leaves one; it changes no figure).
        """
        finished = 0
        for doc in self.records.deleting(self.clock() - older_than, by_state=thorough):
            if quietly(lambda d=doc: self._finish(d), log):
                finished += 1
        if thorough:
            for owner, record_id in self.accounts.freed_notes(COLLECTION):
                if self.records.get(record_id) is None:
                    tombstone = f"{COLLECTION}.{record_id}"
                    quietly(lambda o=owner, t=tombstone: self.accounts.forget_freed(o, t), log)
        return finished

    def _remove(self, doc: dict[str, Any]) -> bool:
        """Steps 1-5 of the module docstring; True when this call removed the record."""
        marked = self.records.mark_deleting(doc["_id"])
        if marked is None:
            return False
        return self._finish(marked)

    def _finish(self, marked: dict[str, Any]) -> bool:
        """Steps 2-5 for a record marked `deleting`."""
        self.store.delete(marked["object_name"])
        tombstone = f"{COLLECTION}.{marked['_id']}"
        if marked.get("charged"):
            if self.holds is not None:
                self.holds.settle(marked["owner"], marked["_id"])
            self.accounts.free_once(
                marked["owner"], marked["file_size"], tombstone, kind=COLLECTION
            )
        removed = self.records.remove(marked["_id"])
        if marked.get("charged"):
            # The delete is done; a note left behind is dropped by finish_deletes.
            quietly(lambda: self.accounts.forget_freed(marked["owner"], tombstone), log)
        return removed


def _may_manage(user: User, doc: dict[str, Any]) -> bool:
    return user.is_admin or doc["owner"] == user.id
