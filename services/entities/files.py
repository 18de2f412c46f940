"""The files of entities: uploads streamed into storage, their metadata, and their cleanup.

An upload is recorded as a claim in `entity_uploads` before its first byte is stored, so no
object is ever left without a record of it:
  1. take: the claim, `uploading` with a lease, naming the object `entities/<claim id>`.
  2. store: the bytes stream into the object (the lease renewed per block) while the store
     computes the MD5; then the metadata is read from the stored object by ranges.
  3. bind: the claim `stored`, naming the entity about to hold the object; this fails
     (LeaseExpired) if housekeeping reclaimed the upload meanwhile.
  4. the entity's own write (the commit point, in the entity service), then release: the
     claim is deleted.
A failure before 3 discards: the object is deleted, then the claim. A failure after 3 does
too, unless the entity's write may have taken effect (its answer lost): then the bound
claim stays for housekeeping. A crash leaves a claim:
housekeeping deletes the object of an `uploading` claim once its lease ran out, and of a
`stored` claim older than a lease unless its entity holds the object; then the claim.
Entities are one shared library: no quota, no holds.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.core.claims import STORED, Claims
from services.core.cleanup import quietly
from services.core.ingest import Accept, Chunk, Ingest
from services.core.sniff import EXTENSIONS, sniff_library_media
from services.entities.media import MediaInfo, read_media_info
from services.previews import Previews
from services.storage.objects import ObjectInfo, ObjectStore

log = logging.getLogger("mediastore.entities.files")

OBJECT_PREFIX = "entities"
NOT_MEDIA = "Only images (JPEG, PNG, WebP, GIF) and videos are accepted"


@dataclass(frozen=True)
class StoredFile:
    """An uploaded file in storage, not yet held by an entity."""

    claim_id: str
    info: ObjectInfo
    md5: str
    media: MediaInfo
    uploaded_at: datetime

    @property
    def object_name(self) -> str:
        return self.info.name

    def fields(self) -> dict[str, Any]:
        """The Item fields this file gives its entity."""
        content_type = self.info.content_type
        extension = EXTENSIONS[content_type].lstrip(".")
        return {
            "create_date": self.media.create_date,
            "file_size": self.info.size,
            "height": self.media.height,
            "width": self.media.width,
            "duration": self.media.duration,
            "mime_type": content_type,
            "type": content_type.split("/", 1)[0],
            "extension": extension,
            "md5": self.md5,
            "file_path": f"{self.uploaded_at:%Y/%m/%d}/{self.md5}.{extension}",
        }


@dataclass
class EntityFiles:
    """Steps 1-4 of the module docstring, and the housekeeping that finishes crashed ones."""

    claims: Claims
    ingest: Ingest
    store: ObjectStore
    clock: Callable[[], datetime]
    max_bytes: int
    read_info: Callable[[ObjectStore, ObjectInfo], MediaInfo] = field(default=read_media_info)
    previews: Previews | None = None

    def __post_init__(self) -> None:
        self.accept = Accept(
            sniff_library_media,
            self.max_bytes,
            unsupported=NOT_MEDIA,
            too_large=f"File exceeds the maximum of {self.max_bytes} bytes",
        )

    def store_upload(self, chunks: Iterable[Chunk], entity_id: int | None = None) -> StoredFile:
        """Steps 1-2: the file in storage with its MD5 and metadata, or nothing left behind."""
        claim_id = uuid.uuid4().hex
        name = f"{OBJECT_PREFIX}/{claim_id}"
        self.claims.take({"entity_id": entity_id, "object_name": name}, claim_id=claim_id)
        try:
            info = self.ingest.store_upload(
                chunks, self.accept, lambda _type: name, lambda _n: self.claims.renew(claim_id)
            )
        except BaseException:
            quietly(lambda: self.claims.drop(claim_id), log)
            raise
        try:
            md5 = info.md5 or self._hash(info)
            media = self.read_info(self.store, info)
        except BaseException:
            self._discard(claim_id, name)
            raise
        return StoredFile(claim_id, info, md5, media, self.clock())

    def bind(self, stored: StoredFile, entity_id: int) -> None:
        """Step 3: the claim names the entity about to hold the file; LeaseExpired if too late."""
        self.claims.commit(stored.claim_id, {"entity_id": entity_id, "bound_at": self.clock()})

    def release(self, stored: StoredFile) -> None:
        """After step 4: the entity holds the file, the claim is done with."""
        quietly(lambda: self.claims.collection.delete_one({"_id": stored.claim_id}), log)

    def discard(self, stored: StoredFile | None) -> None:
        """Delete a file no entity holds: the object, then its claim (kept if storage fails)."""
        if stored is not None:
            self._discard(stored.claim_id, stored.object_name)

    def delete_objects(self, names: Iterable[str]) -> None:
        """Delete objects of a deleted entity (missing ones are fine); storage errors raise.

        Each object's preview goes after it, best effort (an orphan preview is unreachable).
        """
        for name in names:
            self.store.delete(name)
            if self.previews is not None:
                self.previews.discard(name)

    def finish_abandoned(self, holds: Callable[[int, str], bool]) -> int:
        """Housekeeping: delete the objects of crashed uploads; returns how many were done.

        `holds(entity_id, object_name)` tells whether that entity holds the object. A claim
        is deleted only after its object, so a storage outage leaves it for the next round.
        """
        done = 0
        for claim_id in self.claims.expired():
            # Taking the claim first makes a late writer's next renewal fail, so it can
            # commit nothing after the object is gone; the claim is put back if storage fails.
            claim = self.claims.reclaim(claim_id)
            if claim is not None and quietly(lambda c=claim: self._delete_or_restore(c), log):
                done += 1
        cutoff = self.clock() - self.claims.lease
        stale = list(self.claims.collection.find({"state": STORED, "bound_at": {"$lt": cutoff}}))
        for claim in stale:
            if quietly(lambda c=claim: self._finish_bound(c, holds), log):
                done += 1
        return done

    def _delete_or_restore(self, claim: dict[str, Any]) -> bool:
        try:
            self.store.delete(claim["object_name"])
        except Exception:
            self.claims.collection.insert_one(claim)  # expired still: the next round retries
            raise
        return True

    def _finish_bound(self, claim: dict[str, Any], holds: Callable[[int, str], bool]) -> bool:
        if not holds(claim["entity_id"], claim["object_name"]):
            self.store.delete(claim["object_name"])
        self.claims.collection.delete_one({"_id": claim["_id"]})
        return True

    def _discard(self, claim_id: str, name: str) -> None:
        if quietly(lambda: self.store.delete(name), log) is not None:
            quietly(lambda: self.claims.collection.delete_one({"_id": claim_id}), log)

    def _hash(self, info: ObjectInfo) -> str:
        """The MD5 of a stored object whose store did not report one (read back once)."""
        digest = hashlib.md5(usedforsecurity=False)
        for chunk in self.store.read_range(info.name, 0, info.size - 1):
            digest.update(chunk)
        return digest.hexdigest()
