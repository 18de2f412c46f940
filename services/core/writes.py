"""The shared write path of every upload a user pays for: claim, reserve, store, commit, or undo.

Steps, and what a failure at each leaves behind:
  1. claim: the feature's record, `uploading` with a lease, under its unique key. Nothing else
     exists yet; a taken key is the feature's to answer (409, a suffix, ...).
  2. hold: an empty hold on the owner's account, naming the claim.
  3. ingest, block by block: reserve the block on the hold (quota and bandwidth, all or
     nothing), renew the claim's lease, write. A refusal or failure aborts the object.
  4. commit: the feature's step that turns the claim `stored` (the commit point), together
     with whatever it records (usage, events) before it.
  5. settle the hold: its bytes stay used. A crash before this leaves a stored claim and a
     stale hold whose bytes are rightly used; services/core/sweep.py settles it once its
     lease has run out.
Any failure in 1-4 undoes: the claim is dropped if it is still uploading, the hold given back
and the object deleted. If the undo itself cannot reach the stores (an outage), the claim's
lease runs out and reclaim() does the same later: nothing stays charged, nothing orphaned.
reclaim() deletes the claim first and only then gives the hold back, so an upload that wakes
up after its lease finds its claim gone and undoes itself instead of committing unpaid bytes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from services.core.accounts import AccountUsage
from services.core.claims import Claims
from services.core.cleanup import quietly
from services.core.ingest import Accept, Chunk, Ingest
from services.core.reservations import Holds
from services.storage.objects import ObjectInfo, ObjectStore

log = logging.getLogger("mediastore.writes")


@dataclass(frozen=True)
class Written:
    """A committed upload: what the feature's commit step returned, the object, the account."""

    result: Any
    info: ObjectInfo
    usage: AccountUsage


class WritePath:
    """Steps 1-5 of the module docstring for one feature's claims."""

    def __init__(
        self,
        *,
        claims: Claims,
        holds: Holds,
        ingest: Ingest,
        store: ObjectStore,
        on_reclaim: Callable[[dict[str, Any]], Any] | None = None,
    ) -> None:
        self.claims = claims
        self.holds = holds
        self.ingest = ingest
        self.store = store
        # Undo a feature's own bookkeeping (say, a usage entry) for a reclaimed claim.
        self.on_reclaim = on_reclaim

    def write(
        self,
        claim: dict[str, Any],
        chunks: Iterable[Chunk],
        accept: Accept,
        commit: Callable[[dict[str, Any], ObjectInfo], Any],
    ) -> Written:
        """Steps 2-5 for a claim the feature has taken (step 1), stored as claim["object_name"].

        Undoes everything when any step fails, and re-raises.
        """
        owner, claim_id = claim["owner"], claim["_id"]
        usage: list[AccountUsage] = []
        info: ObjectInfo | None = None

        def reserve(nbytes: int) -> None:
            usage.append(self.holds.reserve(owner, claim_id, nbytes))
            self.claims.renew(claim_id)

        try:
            self.holds.open(owner, claim_id, ref=f"{self.claims.name}/{claim_id}")
            info = self.ingest.store_upload(
                chunks, accept, lambda _type: claim["object_name"], reserve
            )
            result = commit(claim, info)
        except BaseException:
            self.undo(claim, info)
            raise
        quietly(lambda: self.holds.settle(owner, claim_id), log)
        return Written(result, info, usage[-1])

    def undo(self, claim: dict[str, Any], info: ObjectInfo | None = None) -> None:
        """Leave no claim, no hold and no object of an upload that failed; never raises."""
        owned = quietly(lambda: self.claims.drop(claim["_id"]), log)
        if owned is not None:
            quietly(lambda: self.holds.give_back(claim["owner"], claim["_id"]), log)
        if owned is not None or info is not None:
            quietly(lambda: self.store.delete(claim["object_name"]), log)

    def reclaim(self, where: dict[str, Any] | None = None) -> int:
        """Undo every claim whose lease ran out (a dead process's); returns how many.

        Each claim is deleted by one conditional delete, and only the caller that deleted it
        gives its hold back, so concurrent reclaims count every claim once.
        """
        reclaimed = 0
        for claim_id in self.claims.expired(where):
            claim = self.claims.reclaim(claim_id)
            if claim is None:
                continue  # finished, or reclaimed by someone else, meanwhile
            log.warning("reclaiming abandoned upload %s of %s", claim_id, claim["owner"])
            quietly(lambda c=claim: self.holds.give_back(c["owner"], c["_id"]), log)
            if self.on_reclaim is not None:
                quietly(lambda c=claim: self.on_reclaim(c), log)
            if claim.get("object_name"):
                quietly(lambda c=claim: self.store.delete(c["object_name"]), log)
            reclaimed += 1
        return reclaimed
