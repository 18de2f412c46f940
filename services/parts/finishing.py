"""After a session's commit point: its video landed, its hold resolved, its parts deleted.

A session that completed, was aborted or expired has `todo` set in the same update that
changed its status. clean_up() then does the rest, each step idempotent, so a request, the
relay's housekeeping and `reclaim-uploads` may all run it, at once or again after a crash:
  completed  land the video in the owner's library (one record, keyed by the session id),
             then settle the hold (its bytes stay used);
  otherwise  give the hold back, delete the composed object a failed complete may have left;
  then       delete every part a URL was handed out for, and clear `todo` once the last of
             those URLs has expired (until then a late PUT could store a part again).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.core.cleanup import quietly
from services.core.users import User
from services.parts.holds import SessionHolds
from services.parts.records import COMPLETED, EXPIRED, SessionRecords, part_name
from services.storage.objects import ObjectInfo, ObjectStore
from services.videos import VideoLanding

log = logging.getLogger("mediastore.parts")

# Parts are deleted with this many requests in flight: on GCS each is a round trip.
DELETE_THREADS = 8


@dataclass(frozen=True)
class Completed:
    """A finished recording: its name in the owner's library and its size."""

    filename: str
    size: int


class SessionFinisher:
    """Ends sessions and finishes what ended ones left to do (see the module docstring)."""

    def __init__(
        self,
        *,
        sessions: SessionRecords,
        holds: SessionHolds,
        store: ObjectStore,
        landing: VideoLanding,
        clock: Callable[[], datetime],
        session_ttl: timedelta,
    ) -> None:
        self.sessions = sessions
        self.holds = holds
        self.store = store
        self.landing = landing
        self.clock = clock
        self.session_ttl = session_ttl

    def end(self, session_id: str, status: str, **where: Any) -> dict[str, Any] | None:
        """uploading -> `status` (aborted, expired), then clean up; None if it was not open."""
        ended = self.sessions.end(session_id, status, **where)
        if ended is not None:
            quietly(lambda: self.clean_up(ended), log)
        return ended

    def finish(self, session: dict[str, Any]) -> Completed:
        """A completed session's answer: its video landed (now, if not yet), then clean-up."""
        landed = self.land(session)
        if session.get("todo"):
            quietly(lambda: self.clean_up({**session, "landed": landed}), log)
        return Completed(landed["filename"], landed["size"])

    def clean_up(self, session: dict[str, Any]) -> None:
        """Land or give back, then delete the parts; `todo` ends once no URL can add one."""
        owner, sid = session["owner"], session["_id"]
        if session["status"] == COMPLETED:
            self.land(session)
            self.holds.settle(owner, sid)
        else:
            self.holds.give_back(owner, sid)
            self.store.delete(session["object_name"])  # what a failed complete left, if any
        numbers = set(session.get("presigned") or []) | {
            int(key) for key in session.get("parts") or {}
        }
        names = [part_name(sid, number) for number in sorted(numbers)]
        with ThreadPoolExecutor(DELETE_THREADS, thread_name_prefix="part-delete") as pool:
            list(pool.map(self.store.delete, names))  # raises the first failure, after all ran
        urls_until = session.get("urls_until")
        if urls_until is None or urls_until <= self.clock():
            self.sessions.done(sid)

    def land(self, session: dict[str, Any]) -> dict[str, Any]:
        """The completed session's video in the owner's library (landed once, by its id)."""
        if session.get("landed") is not None:
            return session["landed"]
        owner, final = session["owner"], session["final"]
        video = self.landing.land(
            User(owner, session.get("username") or owner, session.get("email")),
            session["filename"],
            ObjectInfo(final["name"], final["size"], final["content_type"], final["generation"]),
            landing_id=session["_id"],
        )
        landed = {"filename": video.filename, "size": video.size}
        self.sessions.note(session["_id"], {"landed": landed})
        return landed

    def reclaim(self) -> int:
        """Expire sessions past their time, finish what ended half way; returns how many expired."""
        expired = 0
        for session_id in self.sessions.expired_ids():
            ended = self.end(session_id, EXPIRED, expires_at={"$lt": self.clock()})
            if ended is not None:
                log.warning("upload session %s of %s expired", session_id, ended["owner"])
                expired += 1
        for session_id in self.sessions.pending_ids():
            session = self.sessions.get(session_id)
            if session is not None and session.get("todo"):
                quietly(lambda s=session: self.clean_up(s), log)
        self.sessions.purge(self.clock() - self.session_ttl)
        return expired
