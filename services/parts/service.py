"""Large uploads in parts (seed 002): sessions, signed part URLs, register, complete, abort.

A session belongs to the user who created it: every call looks it up by id *and* owner,
so another user's session, an unknown id and an expired session all answer 404 alike.
Bytes never pass through here: parts go straight to storage through signed PUT URLs, under
`uploads/<session id>/part-<n>`, and complete composes them (services/parts/completion.py)
into the video that then lands in the owner's library through the video feature.

Quota and bandwidth are held on the owner's account in one hold per session
(services/parts/holds.py): the declared size at create, else each part when registered.
Every state change is one conditional update of the session (services/parts/records.py).
What a failure between two writes leaves, and who finishes it:
  create    session written, then its hold opened and synced: a failure deletes the
            session; a crash leaves an uploading session that expires with an empty hold.
  register  the part recorded, then the hold synced: a refused sync (403) takes the part
            back; a crash leaves the hold short, synced by the next register or complete.
  abort/expiry  status changed first (the commit point), then the hold given back and the
            objects deleted; a crash leaves `todo`, which `reclaim-uploads` finishes.
  complete  see services/parts/completion.py; what follows its commit point, and the
            clean-up after abort and expiry, is services/parts/finishing.py.
Parts PUT through a URL handed out earlier may arrive after a session ended: `todo` stays
until the last URL has expired, and every `reclaim-uploads` deletes the parts again.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.core.accounts import Accounts
from services.core.cleanup import quietly
from services.core.content import ContentCheck
from services.core.errors import (
    BandwidthExceeded,
    InvalidRequest,
    NotFound,
    ObjectMissing,
    PayloadTooLarge,
    QuotaExceeded,
    UnsupportedMediaType,
)
from services.core.ingest import Chunk
from services.core.names import check_filename, new_object_name
from services.core.users import User
from services.parts.completion import Completion, ListedPart, check_listed, normalize_etag
from services.parts.errors import (
    SESSION_NOT_FOUND,
    SessionBusy,
    SessionEnded,
    refusals_in_api_words,
)
from services.parts.finishing import Completed, SessionFinisher
from services.parts.holds import SessionHolds
from services.parts.records import (
    ABORTED,
    COMPLETED,
    EXPIRED,
    UPLOADING,
    SessionRecords,
    part_key,
    part_name,
    registered_bytes,
)
from services.storage.objects import ObjectStore, SignedUpload
from services.videos import VideoFeature
from services.videos.uploads import UploadReceipt

log = logging.getLogger("mediastore.parts")

# Registers of one part that race each other: how often one reads again before giving up.
REGISTER_ATTEMPTS = 5


@dataclass(frozen=True)
class Limits:
    """The sizes and times a session lives by (from the MULTIPART_* settings)."""

    part_size: int
    max_part_bytes: int
    max_upload_bytes: int
    session_ttl: timedelta
    url_ttl_seconds: int
    lock_seconds: float


@dataclass(frozen=True)
class Presigned:
    """A URL that stores one part: PUT it with exactly `headers` before `expires_at`."""

    upload: SignedUpload
    max_bytes: int


class PartUploads:
    """The part upload API's operations (see the module docstring)."""

    def __init__(
        self,
        *,
        sessions: SessionRecords,
        holds: SessionHolds,
        accounts: Accounts,
        store: ObjectStore,
        videos: VideoFeature,
        clock: Callable[[], datetime],
        limits: Limits,
        bucket: str,
        content_check: ContentCheck | None = None,
    ) -> None:
        self.sessions = sessions
        self.holds = holds
        self.accounts = accounts
        self.store = store
        self.videos = videos
        self.clock = clock
        self.limits = limits
        self.bucket = bucket
        self.completion = Completion(
            sessions=sessions,
            holds=holds,
            store=store,
            max_upload_bytes=limits.max_upload_bytes,
            lock_seconds=limits.lock_seconds,
            content_check=content_check,
        )
        self.finisher = SessionFinisher(
            sessions=sessions,
            holds=holds,
            store=store,
            landing=videos.landing,
            clock=clock,
            session_ttl=limits.session_ttl,
        )

    # --- the API ---------------------------------------------------------------------

    def upload_simple(self, user: User, filename: str, chunks: Iterable[Chunk]) -> UploadReceipt:
        """One request, one video: the video API's upload, a taken name getting a suffix."""
        return self.videos.uploads.upload(user, filename, chunks, rename=True)

    def create(
        self, user: User, filename: str, content_type: str | None, size: int | None
    ) -> dict[str, Any]:
        """Open a session; a declared `size` is held at once (403 when it does not fit)."""
        name = check_filename(filename)
        if size is not None and size > self.limits.max_upload_bytes:
            raise PayloadTooLarge()
        self.accounts.ensure(user)
        now = self.clock()
        session = {
            "_id": secrets.token_urlsafe(24),
            "owner": user.id,
            "username": user.username,
            "email": user.email,
            "filename": name,
            "content_type": content_type,
            "size": size,
            "object_name": new_object_name("videos", user.id),
            "status": UPLOADING,
            "parts": {},
            "presigned": [],
            "created_at": now,
            "expires_at": now + self.limits.session_ttl,
        }
        self.sessions.insert(session)
        try:
            self.holds.open(user.id, session["_id"])
            with refusals_in_api_words():
                self.holds.sync(user.id, session["_id"])
        except BaseException:
            quietly(lambda: self.holds.give_back(user.id, session["_id"]), log)
            quietly(lambda: self.sessions.delete(session["_id"]), log)
            raise
        return session

    def presign(self, user: User, session_id: str, number: int) -> Presigned:
        """A signed PUT URL for part `number`, admitting what the session may still take."""
        session = self._open_session(user, session_id)
        others = registered_bytes(session, besides=number)
        cap = min(self.limits.max_part_bytes, self.limits.max_upload_bytes - others)
        if session.get("size") is not None:
            cap = min(cap, session["size"] - others)
        cap = max(cap, 0)
        now = self.clock()
        left = int((session["expires_at"] - now).total_seconds())
        ttl = max(1, min(self.limits.url_ttl_seconds, left))
        upload = self.store.signed_upload_url(part_name(session_id, number), ttl, max_bytes=cap)
        # Our clock, not the URL's, so that clean-up waits by the clock everything else uses.
        if not self.sessions.note_presigned(session_id, number, now + timedelta(seconds=ttl)):
            self._refuse_changed(user, session_id)
        return Presigned(upload, cap)

    def register(self, user: User, session_id: str, number: int, etag: str) -> None:
        """Record a part after checking storage has it with this ETag; replaces an earlier one."""
        self._open_session(user, session_id)
        try:
            info = self.store.stat(part_name(session_id, number))
        except ObjectMissing:
            raise InvalidRequest(f"Part {number} is not in storage") from None
        if info.md5 is None or info.md5 != normalize_etag(etag):
            raise InvalidRequest(f"ETag of part {number} does not match the stored part")
        entry = {"etag": info.md5, "size": info.size, "generation": info.generation}
        previous = self._record_part(user, session_id, number, entry)
        if previous is not None and previous["generation"] == info.generation:
            return  # registered already, exactly so
        try:
            with refusals_in_api_words():
                self.holds.sync(user.id, session_id)
        except (QuotaExceeded, BandwidthExceeded):
            self.sessions.unregister(session_id, number, info.generation, previous)
            quietly(lambda: self.holds.sync(user.id, session_id), log)
            raise

    def _record_part(
        self, user: User, session_id: str, number: int, entry: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Put the part in the session in place of what was there, which is returned.

        Conditional on the part read being the one replaced, so of two registers of one
        part each replaces what it saw; a register that lost a race reads and tries again.
        """
        for _ in range(REGISTER_ATTEMPTS):
            session = self._open_session(user, session_id)
            self._check_fits(session, number, entry["size"])
            previous = (session.get("parts") or {}).get(part_key(number))
            if previous is not None and previous["generation"] == entry["generation"]:
                return previous
            old = None if previous is None else previous["generation"]
            if self.sessions.register(session_id, number, old, entry):
                return previous
        raise SessionBusy("The part is being registered by another request; try again shortly")

    def complete(self, user: User, session_id: str, parts: list[ListedPart] | None) -> Completed:
        """Compose the listed parts into a video in the owner's library; idempotent."""
        session = self._session(user, session_id)
        if session["status"] == UPLOADING:
            listed = check_listed(parts)
            try:
                with refusals_in_api_words():
                    session = self.completion.run(session, listed)
            except UnsupportedMediaType:
                # Judged by its bytes, the recording is no video: nothing of it is kept.
                self.finisher.end(session_id, ABORTED)
                raise
        elif session["status"] != COMPLETED:
            raise SessionEnded(session["status"])
        return self.finisher.finish(session)

    def status(self, user: User, session_id: str) -> dict[str, Any]:
        """The session as created, its state and its registered parts (for a resuming client)."""
        return self._session(user, session_id)

    def abort(self, user: User, session_id: str) -> None:
        """End the session: parts deleted, hold given back; aborting again changes nothing."""
        session = self._session(user, session_id)
        if session["status"] == ABORTED:
            return
        if session["status"] == COMPLETED:
            raise SessionEnded(COMPLETED)
        if self.finisher.end(session_id, ABORTED) is None:
            self._refuse_changed(user, session_id, aborting=True)

    # --- housekeeping ----------------------------------------------------------------

    def reclaim(self) -> int:
        """Expire sessions past their time, finish what ended half way; returns how many expired."""
        return self.finisher.reclaim()

    # --- lookups and guards ----------------------------------------------------------

    def _session(self, user: User, session_id: str) -> dict[str, Any]:
        """The user's session, or 404; one past its expiry is reclaimed now and is 404."""
        session = self.sessions.find(user.id, session_id)
        if session is None or session["status"] == EXPIRED:
            raise NotFound(SESSION_NOT_FOUND)
        if session["status"] == UPLOADING and session["expires_at"] <= self.clock():
            self.finisher.end(session_id, EXPIRED, expires_at={"$lte": self.clock()})
            raise NotFound(SESSION_NOT_FOUND)
        return session

    def _open_session(self, user: User, session_id: str) -> dict[str, Any]:
        """The user's session, still uploading and not being completed; else 404 or 409."""
        session = self._session(user, session_id)
        if session["status"] != UPLOADING:
            raise SessionEnded(session["status"])
        lock = session.get("lock") or {}
        if lock.get("until") is not None and lock["until"] > self.clock():
            raise SessionBusy()
        return session

    def _refuse_changed(self, user: User, session_id: str, *, aborting: bool = False) -> None:
        """A conditional update missed: say why, from the session as it is now."""
        session = self._session(user, session_id)
        if aborting and session["status"] == ABORTED:
            return
        self._open_session(user, session_id)
        raise SessionBusy()  # changed and changed back: the caller may simply retry

    def _check_fits(self, session: dict[str, Any], number: int, size: int) -> None:
        """A part fits the declared size, the largest upload and the largest part."""
        total = registered_bytes(session, besides=number) + size
        declared = session.get("size")
        if declared is not None and total > declared:
            raise InvalidRequest(
                f"Registered parts would add up to {total} bytes, "
                f"more than the declared size of {declared} bytes"
            )
        if total > self.limits.max_upload_bytes or size > self.limits.max_part_bytes:
            raise PayloadTooLarge()
