"""Video uploads: claim the name, reserve quota as bytes arrive, store, record."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from services.core.accounts import Accounts, AccountUsage, utc_day
from services.core.cleanup import quietly
from services.core.errors import (
    Conflict,
    InvalidRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from services.core.names import check_filename, new_object_name
from services.core.sniff import SNIFF_BYTES, sniff_video
from services.core.usage import UsageLog
from services.core.users import User
from services.storage.objects import ObjectInfo, ObjectStore, ObjectWriter

log = logging.getLogger("mediastore.uploads")

UPLOADING, STORED, DELETING = "uploading", "stored", "deleting"


class UsageRecordFailed(InvalidRequest):
    """The day's usage record could not be written; the upload was undone."""

    default_message = "Usage record couldn't be inserted or updated..!!"


@dataclass(frozen=True)
class UploadReceipt:
    """What the uploader is told: the stored file and the account after it."""

    filename: str
    size: int
    content_type: str
    usage: AccountUsage


def take_prefix(chunks: Iterator[bytes], size: int) -> bytes:
    """Read from the iterator until at least `size` bytes (or the end) are in hand."""
    parts: list[bytes] = []
    have = 0
    for chunk in chunks:
        parts.append(chunk)
        have += len(chunk)
        if have >= size:
            break
    return b"".join(parts)


class VideoUploads:
    """Streams one upload into storage with quota and bandwidth reserved ahead of the bytes.

    Steps and what a failure at each leaves behind:
      1. claim: insert {owner, filename, state: uploading} under a unique index. A second
         upload of the same name gets 409; nothing else exists yet.
      2. reserve + write, one block at a time: the account reservation comes first, then
         the claim's `reserved` counter, then the bytes. A failure here aborts the writer
         (no object), and whoever deletes the claim gives back exactly what it records.
      3. commit the object, then mark the claim stored. If marking fails the object is
         deleted and the reservation released.
      4. record usage. If that fails the stored file is undone the same way (seed: 400).
    A process that dies mid-upload leaves an uploading claim with a lease. Once the lease
    has expired, the owner's next upload (of any name) reclaims it: the claim is deleted,
    its reservation given back and its object, if any, removed. reclaim_abandoned() does
    the same for every user, for a scheduled job.
    """

    def __init__(
        self,
        *,
        files: Any,
        accounts: Accounts,
        usage: UsageLog,
        store: ObjectStore,
        clock: Callable[[], datetime],
        max_upload_bytes: int,
        block_bytes: int = 8 * 1024 * 1024,
        lease_seconds: int = 3600,
        object_prefix: str = "videos",
    ) -> None:
        self.files = files
        self.accounts = accounts
        self.usage = usage
        self.store = store
        self.clock = clock
        self.max_upload_bytes = max_upload_bytes
        self.block_bytes = block_bytes
        self.lease = timedelta(seconds=lease_seconds)
        self.object_prefix = object_prefix

    def upload(self, user: User, filename: str, chunks: Iterable[bytes]) -> UploadReceipt:
        """Store one video for the user; undo everything if any step fails."""
        name = check_filename(filename)
        self.accounts.ensure(user)
        # Housekeeping: its failure must not cost the user this upload.
        quietly(lambda: self.reclaim_abandoned(owner=user.id), log)
        claim = self._claim(user, name)
        writer: ObjectWriter | None = None
        info: ObjectInfo | None = None
        try:
            stream = iter(chunks)
            prefix = take_prefix(stream, SNIFF_BYTES)
            content_type = sniff_video(prefix)
            if content_type is None:
                raise UnsupportedMediaType("Only video files are accepted")
            writer = self.store.open_writer(claim["object_name"], content_type)
            usage = self._transfer(claim, _prepend(prefix, stream), writer)
            info = writer.commit()
            self._mark_stored(claim, info)
        except BaseException:
            self._undo(claim, writer, info)
            raise
        try:
            self.usage.record_upload(user, name, info.size, self.clock())
        except Exception as error:
            log.exception("usage record failed; undoing upload of %s", claim["_id"])
            self._undo(claim, None, info)
            raise UsageRecordFailed() from error
        return UploadReceipt(name, info.size, info.content_type, usage)

    def reclaim_abandoned(self, owner: str | None = None) -> int:
        """Undo uploads whose lease expired (a dead process's), of one owner or of all.

        Each claim is deleted by one conditional delete, and only the caller that deleted
        it gives its reservation back, so concurrent reclaims count every claim once.
        Returns how many claims this call reclaimed.
        """
        expired = {"state": UPLOADING, "lease_until": {"$lt": self.clock()}}
        if owner is not None:
            expired["owner"] = owner
        reclaimed = 0
        for candidate in list(self.files.find(expired, {"_id": 1})):
            abandoned = self.files.find_one_and_delete({**expired, "_id": candidate["_id"]})
            if abandoned is None:
                continue  # finished, or reclaimed by someone else, meanwhile
            log.warning(
                "reclaiming abandoned upload %s of %s", abandoned["_id"], abandoned["owner"]
            )
            self._give_back(abandoned)
            self._discard_object(abandoned["object_name"])
            reclaimed += 1
        return reclaimed

    def _claim(self, user: User, name: str) -> dict[str, Any]:
        """Insert the uploading claim; take over an abandoned one whose lease ran out."""
        now = self.clock()
        claim = {
            "_id": uuid.uuid4().hex,
            "owner": user.id,
            "filename": name,
            "object_name": new_object_name(self.object_prefix, user.id),
            "state": UPLOADING,
            "reserved": {},
            "lease_until": now + self.lease,
            "created_at": now,
        }
        try:
            self.files.insert_one(dict(claim))
            return claim
        except DuplicateKeyError:
            pass
        abandoned = self.files.find_one_and_delete(
            {"owner": user.id, "filename": name, "state": UPLOADING, "lease_until": {"$lt": now}}
        )
        if abandoned is None:
            raise Conflict("File with the same name already exists.")
        self._give_back(abandoned)
        self._discard_object(abandoned["object_name"])
        try:
            self.files.insert_one(dict(claim))
        except DuplicateKeyError:
            raise Conflict("File with the same name already exists.") from None
        return claim

    def _transfer(
        self, claim: dict[str, Any], chunks: Iterator[bytes], writer: ObjectWriter
    ) -> AccountUsage:
        """Reserve, then write, each block of at most block_bytes; enforce the size limit."""
        total = 0
        usage: AccountUsage | None = None
        for block in _blocks(chunks, self.block_bytes):
            size = sum(len(part) for part in block)
            total += size
            if total > self.max_upload_bytes:
                raise PayloadTooLarge()
            usage = self._reserve(claim, size)
            for part in block:
                writer.write(part)
        if usage is None:
            raise UnsupportedMediaType("Only video files are accepted")
        return usage

    def _reserve(self, claim: dict[str, Any], nbytes: int) -> AccountUsage:
        day = utc_day(self.clock())
        usage = self.accounts.reserve(claim["owner"], nbytes, day)
        self.files.update_one(
            {"_id": claim["_id"]},
            {
                "$inc": {f"reserved.{day}": nbytes},
                "$set": {"lease_until": self.clock() + self.lease},
            },
        )
        return usage

    def _mark_stored(self, claim: dict[str, Any], info: ObjectInfo) -> None:
        stored = self.files.find_one_and_update(
            {"_id": claim["_id"], "state": UPLOADING},
            {
                "$set": {
                    "state": STORED,
                    "size": info.size,
                    "content_type": info.content_type,
                    "generation": info.generation,
                    "uploaded_at": self.clock(),
                },
                "$unset": {"lease_until": ""},
            },
            return_document=ReturnDocument.AFTER,
        )
        if stored is None:
            raise Conflict("File with the same name already exists.")

    def _undo(
        self, claim: dict[str, Any], writer: ObjectWriter | None, info: ObjectInfo | None
    ) -> None:
        """Leave no object, no metadata and no reservation behind; never raise."""
        if writer is not None and info is None:
            quietly(writer.abort, log)
        # Only the request that deletes the claim gives its reservation back.
        owned = quietly(lambda: self.files.find_one_and_delete({"_id": claim["_id"]}), log)
        if owned is not None:
            quietly(lambda: self._give_back(owned), log)
        if info is not None or owned is not None:
            self._discard_object(claim["object_name"])

    def _give_back(self, claim: dict[str, Any]) -> None:
        for day, nbytes in claim.get("reserved", {}).items():
            if nbytes:
                self.accounts.release(claim["owner"], nbytes, day)

    def _discard_object(self, object_name: str) -> None:
        quietly(lambda: self.store.delete(object_name), log)


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


def _blocks(chunks: Iterator[bytes], block_bytes: int) -> Iterator[list[bytes]]:
    """Group chunks into lists of about block_bytes; memory is bounded by one block."""
    block: list[bytes] = []
    size = 0
    for chunk in chunks:
        if not chunk:
            continue
        block.append(chunk)
        size += len(chunk)
        if size >= block_bytes:
            yield block
            block, size = [], 0
    if block:
        yield block
