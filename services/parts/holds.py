"""A session's hold on its owner's account, kept equal to what the session record says.

The hold (id = session id) is what the session has charged to the owner's quota and
bandwidth. How much it should hold follows from the record alone (target_bytes): the
declared size, else the registered parts, and while a `complete` runs or after it, the size
being completed. Whoever changes what the record says then calls sync(), which reads the
hold's revision, then the record, and resizes the hold at that revision (Holds.resize).
A resize advances the revision even when the size does not change, so of two syncs the one
that read the record earlier can only win if it also read the hold after the other's
resize, that is, after the other's record: every sync that returns leaves the hold equal
to the record as it was when some sync read it last, and the last one reads the newest.
A sync that fails part way (an outage) leaves the hold as it was; the next sync, or
give_back when the session ends, puts it right.
"""

from __future__ import annotations

from typing import Any

from services.core.claims import STORED, UPLOADING
from services.core.errors import LeaseExpired, StorageUnavailable
from services.core.reservations import Holds
from services.parts.records import COMPLETED, SessionRecords, registered_bytes
from services.parts.records import UPLOADING as SESSION_UPLOADING

# Syncs give way to each other only when they race; this many rounds means a live-lock.
SYNC_ROUNDS = 20


def target_bytes(session: dict[str, Any] | None) -> int | None:
    """What the session's hold should hold; None once the hold is to be given back."""
    if session is None:
        return None
    if session["status"] == COMPLETED:
        return session["final"]["size"]
    if session["status"] != SESSION_UPLOADING:
        return None
    lock = session.get("lock") or {}
    if lock.get("total") is not None:
        return lock["total"]
    if session.get("size") is not None:
        return session["size"]
    return registered_bytes(session)


class SessionHolds:
    """Opens, syncs, settles and gives back the holds of upload sessions."""

    def __init__(self, holds: Holds, sessions: SessionRecords) -> None:
        self.holds = holds
        self.sessions = sessions

    def open(self, owner: str, session_id: str) -> None:
        """Start the session's empty hold (the owner's account must exist)."""
        self.holds.open(owner, session_id, ref=f"{self.sessions.name}/{session_id}")

    def sync(self, owner: str, session_id: str) -> None:
        """Resize the hold to what the session record says now (see the module docstring).

        Raises QuotaExceeded or BandwidthExceeded when the record asks for more than fits;
        the hold is then unchanged. A hold that is gone (settled, given back) stays gone.
        """
        for _ in range(SYNC_ROUNDS):
            held = self.holds.hold(owner, session_id)
            if held is None:
                return
            target = target_bytes(self.sessions.get(session_id))
            if target is None:
                return
            try:
                if self.holds.resize(owner, session_id, held.get("rev", 0), target):
                    return
            except LeaseExpired:
                return  # settled or given back meanwhile
        raise StorageUnavailable("the reservation of an upload session kept changing")

    def settle(self, owner: str, session_id: str) -> None:
        """The video landed: drop the hold, its bytes stay used."""
        self.holds.settle(owner, session_id)

    def give_back(self, owner: str, session_id: str) -> int:
        """The session ended without a video: return everything the hold held."""
        return self.holds.give_back(owner, session_id)


class SweptSessions:
    """How services/core/sweep.py sees sessions, whose hold it resolves once its lease ran out.

    The sweeper asks for a claim's `state`: a session still uploading is a claim in
    progress (left alone: expiry reclaims it), a completed one is stored (its hold is
    settled), and an aborted or expired one is gone (its hold is given back).
    """

    def __init__(self, sessions: SessionRecords) -> None:
        self.name = sessions.name
        self.collection = _StatesAsClaims(sessions)


class _StatesAsClaims:
    """The one read the sweeper makes, answered in claim states."""

    def __init__(self, sessions: SessionRecords) -> None:
        self._sessions = sessions

    def find_one(self, filter: dict[str, Any], projection: Any = None) -> dict[str, Any] | None:
        session = self._sessions.get(filter["_id"])
        if session is None or session["status"] not in (SESSION_UPLOADING, COMPLETED):
            return None
        state = STORED if session["status"] == COMPLETED else UPLOADING
        return {"_id": session["_id"], "state": state}
