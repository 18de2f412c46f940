"""complete: the listed parts checked, composed into the video, and landed in the library.

Steps, and what a failure at each leaves behind (no orphan, no double charge):
  1. lock   one conditional update takes the uploading session for this attempt (a lease of
            `lock_seconds`). A second complete, an abort, a presign or a register of the
            same session is refused (409) while it holds; expiry waits for it too.
  2. check  every listed part is in storage with its ETag (MD5); the parts add up to the
            declared size; their first bytes are a video (sniffed, not trusted). A refusal
            unlocks: the session is open and nothing changed.
  3. hold   the lock records the total and the hold is synced to it (growing it may be
            refused: 403, unlocked, nothing charged beyond what the session held before).
  4. compose the parts, in order, into the session's object (GCS: in rounds of 32). The
            composed object is judged again by size and first bytes (a part replaced during
            complete is a 409), then decoded (services/core/content.py: not a video is
            415, and PartUploads.complete then aborts the session). A failure
            deletes the composed object and unlocks: the session is completable again,
            its hold as it was in 3, nothing else changed.
  5. commit uploading -> completed under our lock, with the composed object recorded: the
            commit point. From here the session is never aborted or expired.
  6. finish (services/parts/finishing.py, idempotent, also run by a repeated complete
            and by `reclaim-uploads`): land the object in the owner's library (one record, keyed
            by the session), settle the hold (its bytes stay used, once), delete the parts.
            A failure here leaves a completed session whose video lands on the next try;
            the hold is settled by whichever finish or hold sweep comes first, never twice.
A crash between 1 and 5 leaves a lock that runs out; the session is then completable (or
abortable, or expires) again, and the next complete composes the same object anew.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from services.core.cleanup import quietly
from services.core.content import ContentCheck
from services.core.errors import (
    Conflict,
    InvalidRequest,
    ObjectMissing,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from services.core.sniff import SNIFF_BYTES, sniff_video
from services.parts.errors import SessionBusy, SessionEnded
from services.parts.holds import SessionHolds
from services.parts.records import ABORTED, UPLOADING, SessionRecords, part_name
from services.storage.objects import ObjectInfo, ObjectStore

log = logging.getLogger("mediastore.parts")

PARTS_REQUIRED = "Parts list required"
NOT_ASCENDING = "Part numbers must be in ascending order"
NOT_A_VIDEO = "Only video files are accepted"
PART_CHANGED = "A part changed while the upload was being completed; complete it again"
# Part metadata is read with this many requests in flight (GCS answers each in tens of ms).
STAT_THREADS = 8


@dataclass(frozen=True)
class ListedPart:
    """One entry of the client's parts list."""

    number: int
    etag: str


def normalize_etag(etag: str) -> str:
    """An ETag as a lowercase MD5 hex: quotes (and a weak prefix) dropped."""
    value = etag.strip()
    if value[:2] in ("W/", "w/"):
        value = value[2:]
    return value.strip('"').lower()


def check_listed(parts: Iterable[ListedPart] | None) -> list[ListedPart]:
    """The list as given, if it is non-empty and strictly ascending; else InvalidRequest."""
    listed = list(parts or [])
    if not listed:
        raise InvalidRequest(PARTS_REQUIRED)
    if any(a.number >= b.number for a, b in zip(listed, listed[1:], strict=False)):
        raise InvalidRequest(NOT_ASCENDING)
    return listed


class Completion:
    """Steps 1-5 of the module docstring; step 6 is SessionFinisher.finish."""

    def __init__(
        self,
        *,
        sessions: SessionRecords,
        holds: SessionHolds,
        store: ObjectStore,
        max_upload_bytes: int,
        lock_seconds: float,
        content_check: ContentCheck | None = None,
    ) -> None:
        self.sessions = sessions
        self.holds = holds
        self.store = store
        self.max_upload_bytes = max_upload_bytes
        self.lock_seconds = lock_seconds
        self.content_check = content_check or ContentCheck()

    def run(self, session: dict[str, Any], listed: list[ListedPart]) -> dict[str, Any]:
        """Lock, check, hold, compose and commit; returns the completed session."""
        attempt = uuid.uuid4().hex
        sid = session["_id"]
        if self.sessions.lock(sid, attempt, self.lock_seconds) is None:
            return self._not_ours(sid)
        composed = False
        try:
            infos = self._check(session, listed)
            total = sum(info.size for info in infos)
            content_type = self._sniff_parts(infos)
            self.sessions.hold_total(sid, attempt, total)
            self.holds.sync(session["owner"], sid)
            composed = True
            info = self._compose(session, infos, content_type, total)
            final = {
                "name": info.name,
                "size": info.size,
                "content_type": info.content_type,
                "generation": info.generation,
            }
            completed = self.sessions.complete(sid, attempt, final)
        except BaseException:
            self._undo(session, attempt, composed)
            raise
        if completed is None:
            return self._lost_lock(session)
        return completed

    def _check(self, session: dict[str, Any], listed: list[ListedPart]) -> list[ObjectInfo]:
        """Stat every listed part; each must exist with its ETag, all add up as declared."""
        names = [part_name(session["_id"], part.number) for part in listed]
        with ThreadPoolExecutor(STAT_THREADS, thread_name_prefix="part-stat") as pool:
            found = list(pool.map(self._stat_or_none, names))
        for part, info in zip(listed, found, strict=True):
            if info is None:
                raise InvalidRequest(f"Part {part.number} is not in storage")
            if info.md5 is None or info.md5 != normalize_etag(part.etag):
                raise InvalidRequest(f"ETag of part {part.number} does not match the stored part")
        total = sum(info.size for info in found)
        declared = session.get("size")
        if declared is not None and total != declared:
            raise InvalidRequest(
                f"Parts add up to {total} bytes, but the declared size is {declared} bytes"
            )
        if total > self.max_upload_bytes:
            raise PayloadTooLarge()
        return found  # type: ignore[return-value]

    def _stat_or_none(self, name: str) -> ObjectInfo | None:
        try:
            return self.store.stat(name)
        except ObjectMissing:
            return None

    def _sniff_parts(self, infos: list[ObjectInfo]) -> str:
        """The video type of the parts' first bytes (the composed object's, in order)."""
        prefix = bytearray()
        for info in infos:
            if len(prefix) >= SNIFF_BYTES:
                break
            if info.size:
                wanted = min(info.size, SNIFF_BYTES - len(prefix))
                prefix += b"".join(self.store.read_range(info.name, 0, wanted - 1))
        content_type = sniff_video(bytes(prefix)) if prefix else None
        if content_type is None:
            raise UnsupportedMediaType(NOT_A_VIDEO)
        return content_type

    def _compose(
        self, session: dict[str, Any], infos: list[ObjectInfo], content_type: str, total: int
    ) -> ObjectInfo:
        """Compose the parts into the session's object; judge what was composed."""
        try:
            info = self.store.compose([i.name for i in infos], session["object_name"], content_type)
        except ObjectMissing as missing:
            raise Conflict(PART_CHANGED) from missing
        if info.size != total:
            raise Conflict(PART_CHANGED)
        head = b"".join(self.store.read_range(info.name, 0, min(total, SNIFF_BYTES) - 1))
        if sniff_video(head) != content_type:
            raise Conflict(PART_CHANGED)
        # Decoded once composed (an impostor is 415; _undo deletes what was composed).
        self.content_check.verify(self.store, info, NOT_A_VIDEO)
        return info

    def _undo(self, session: dict[str, Any], attempt: str, composed: bool) -> None:
        """Leave the session open and as it was: no composed object, the hold re-synced.

        The composed object is deleted only while the lock is still ours: an attempt that
        outlived its lease must not delete what a later attempt composed under that name.
        If the check cannot be made, the object stays; it is the session's own, replaced
        by the next complete or deleted when the session ends.
        """
        sid = session["_id"]
        current = quietly(lambda: self.sessions.get(sid), log) or {}
        if composed and (current.get("lock") or {}).get("id") == attempt:
            quietly(lambda: self.store.delete(session["object_name"]), log)
        quietly(lambda: self.sessions.unlock(sid, attempt), log)
        quietly(lambda: self.holds.sync(session["owner"], sid), log)

    def _not_ours(self, session_id: str) -> dict[str, Any]:
        """The lock was refused: completed by a racing call (its answer), or busy, or ended."""
        current = self.sessions.get(session_id)
        if current is not None and current.get("final") is not None:
            return current
        if current is not None and current["status"] != UPLOADING:
            raise SessionEnded(current["status"])
        raise SessionBusy()

    def _lost_lock(self, session: dict[str, Any]) -> dict[str, Any]:
        """Our lease ran out and someone else decided the session meanwhile."""
        current = self.sessions.get(session["_id"])
        if current is not None and current.get("final") is not None:
            return current  # another attempt completed it: the same object, one video
        # Aborted or expired after our lease ran out: what we composed is nobody's.
        quietly(lambda: self.store.delete(session["object_name"]), log)
        raise SessionEnded(ABORTED)
