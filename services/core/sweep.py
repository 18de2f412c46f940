"""Finish holds a crash left behind: settle the ones whose upload was stored, return the rest.

The write path drops a hold in its last step (settle) or on undo and reclaim (give back).
A process that stops between two of those writes leaves a hold whose lease runs out with
nobody to finish it: its claim is `stored` (the upload committed; the bytes are rightly
used: settle, keeping them) or gone (the upload was undone or reclaimed: give the bytes
back). A hold whose claim is still `uploading` is left to the claim's own reclaim, which
gives it back. Each step is the single conditional update of Holds.settle / give_back, so
a sweep racing the write path or another sweep counts every hold once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from services.core.claims import STORED, UPLOADING, Claims
from services.core.reservations import Holds

log = logging.getLogger("mediastore.sweep")


class HoldSweeper:
    """Resolves expired holds by the state of the claim their `ref` names."""

    def __init__(
        self, holds: Holds, claims: Mapping[str, Claims], *, clock: Callable[[], datetime]
    ) -> None:
        self.holds = holds
        self.claims = dict(claims)  # by collection name, as a hold's ref names it
        self.clock = clock

    def register(self, claims: Claims) -> None:
        """Let holds of this collection's claims be swept."""
        self.claims[claims.name] = claims

    def sweep(self) -> dict[str, int]:
        """Settle or give back every expired hold whose upload is over; returns the counts."""
        done = {"settled": 0, "returned": 0}
        now = self.clock()
        accounts = self.holds.collection.find({"holds": {"$exists": True, "$ne": {}}}, {"holds": 1})
        for account in accounts:
            for hold_id, hold in (account.get("holds") or {}).items():
                if hold.get("lease_until") is not None and hold["lease_until"] >= now:
                    continue
                outcome = self._resolve(account["_id"], hold_id, hold)
                if outcome:
                    done[outcome] += 1
        return done

    def _resolve(self, owner: str, hold_id: str, hold: dict[str, Any]) -> str | None:
        collection, _, claim_id = str(hold.get("ref", "")).partition("/")
        claims = self.claims.get(collection)
        if claims is None:
            log.warning("hold %s of %s names an unknown claim %r", hold_id, owner, hold.get("ref"))
            return None
        claim = claims.collection.find_one({"_id": claim_id}, {"state": 1})
        if claim is None:
            if self.holds.give_back(owner, hold_id):
                log.warning("gave back orphan hold %s of %s", hold_id, owner)
                return "returned"
        elif claim["state"] == STORED:
            if self.holds.settle(owner, hold_id):
                log.info("settled hold %s of %s left by a crash", hold_id, owner)
                return "settled"
        elif claim["state"] != UPLOADING:
            log.warning("hold %s of %s: claim in state %r", hold_id, owner, claim["state"])
        return None
