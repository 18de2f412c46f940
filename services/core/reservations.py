"""Holds: quota and daily bandwidth reserved for an upload in progress, kept on its account.

An account document carries, beside `used_bytes` and `bandwidth`, the holds of its uploads in
progress: `holds.<hold_id> = {ref, bytes, days: {day: n}, lease_until}`. Every change below is
one conditional update of that one document, so no step can charge a hold that is gone, charge
past the quota or the day's allowance, or give the same bytes back twice:

  open      a hold with nothing in it, for a claim that exists (`ref` names the claim);
  reserve   add bytes to used storage, to the day's bandwidth and to the hold, all or nothing,
            only while the hold exists (a hold that was reclaimed refuses: LeaseExpired);
  settle    the upload was stored: drop the hold, its bytes stay used; for a kind the
            account counts (`count_kind`), the same update adds them to `stored.<kind>`;
  give_back the upload failed or was abandoned: drop the hold and return what it held;
  resize    make the hold hold exactly n bytes (charging growth, returning what it sheds),
            only at the revision the caller read: for holds whose size follows a record
            that changes (a session of parts, services/parts/holds.py).

Reserved bytes count as used at once, so concurrent uploads can never overshoot.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument

from services.core.accounts import Accounts, AccountUsage, utc_day
from services.core.errors import BandwidthExceeded, LeaseExpired, QuotaExceeded


class Holds:
    """Opens, fills, settles and gives back the holds on accounts (see the module docstring)."""

    def __init__(
        self, accounts: Accounts, *, clock: Callable[[], datetime], lease_seconds: int
    ) -> None:
        self.accounts = accounts
        self.collection = accounts.collection
        self.clock = clock
        self.lease = timedelta(seconds=lease_seconds)
        # Claims collections (a hold's `ref` is "<collection>/<claim id>") whose settled
        # bytes the account also counts per kind, so a status can say them without a scan.
        self.counted_kinds: set[str] = set()

    def count_kind(self, kind: str) -> None:
        """Keep `stored.<kind>.bytes/count` on the account for holds of that claims collection."""
        self.counted_kinds.add(kind)

    def open(self, owner: str, hold_id: str, ref: str) -> None:
        """Start an empty hold on the owner's (existing) account for the claim `ref`."""
        hold = {"ref": ref, "bytes": 0, "days": {}, "lease_until": self.clock() + self.lease}
        result = self.collection.update_one(
            {"_id": owner, f"holds.{hold_id}": {"$exists": False}},
            {"$set": {f"holds.{hold_id}": hold}},
        )
        if result.matched_count != 1:
            raise LeaseExpired("Could not reserve storage for this upload")

    def reserve(self, owner: str, hold_id: str, nbytes: int) -> AccountUsage:
        """Charge nbytes to storage, today's bandwidth and the hold, or refuse and change nothing.

        Exactly reaching the quota or the day's allowance is allowed. Raises QuotaExceeded,
        BandwidthExceeded, or LeaseExpired when the hold is gone (reclaimed after its lease).
        """
        now = self.clock()
        day, limit = utc_day(now), self.accounts.daily_bandwidth_bytes
        while True:
            account = self.accounts.get(owner)
            self._judge(account, hold_id, nbytes, day)
            quota = account["quota_bytes"]
            updated = self.collection.find_one_and_update(
                {
                    "_id": owner,
                    f"holds.{hold_id}": {"$exists": True},
                    "quota_bytes": quota,
                    "used_bytes": {"$lte": quota - nbytes},
                    f"bandwidth.{day}": {"$not": {"$gt": limit - nbytes}},
                },
                {
                    "$inc": {
                        "used_bytes": nbytes,
                        f"bandwidth.{day}": nbytes,
                        f"holds.{hold_id}.bytes": nbytes,
                        f"holds.{hold_id}.days.{day}": nbytes,
                    },
                    "$set": {f"holds.{hold_id}.lease_until": now + self.lease},
                },
                return_document=ReturnDocument.AFTER,
            )
            if updated is not None:
                self.accounts.forget_old_days(updated, day)
                return self.accounts.usage(updated, day)
            # The account changed between the read and the update: judge it again.

    def settle(self, owner: str, hold_id: str) -> bool:
        """The upload is stored: drop the hold, its bytes stay used; False if it was gone.

        A hold of a counted kind moves its bytes into `stored.<kind>` in the same update,
        conditional on the hold still holding what was read, so only one settle counts it.
        """
        held = self._held(owner, hold_id)
        if held is None:
            return False
        kind = str(held.get("ref", "")).split("/", 1)[0]
        if kind not in self.counted_kinds:
            result = self.collection.update_one(
                {"_id": owner, f"holds.{hold_id}": {"$exists": True}},
                {"$unset": {f"holds.{hold_id}": ""}},
            )
            return result.modified_count == 1
        result = self.collection.update_one(
            {"_id": owner, f"holds.{hold_id}.bytes": held["bytes"]},
            {
                "$unset": {f"holds.{hold_id}": ""},
                "$inc": {f"stored.{kind}.bytes": held["bytes"], f"stored.{kind}.count": 1},
            },
        )
        return result.modified_count == 1

    def give_back(self, owner: str, hold_id: str) -> int:
        """Drop the hold and return its storage and bandwidth; returns the bytes (0: none).

        Conditional on the hold still holding what was read, so a concurrent reserve makes
        this retry rather than lose bytes, and of two concurrent callers only one gives back.
        Bandwidth goes back only to days the account still counts (older days are forgotten).
        """
        while True:
            account = self.accounts.get(owner) or {}
            held = (account.get("holds") or {}).get(hold_id)
            if held is None:
                return 0
            counted = account.get("bandwidth") or {}
            days = [day for day, n in held.get("days", {}).items() if n and day in counted]
            result = self.collection.update_one(
                {
                    "_id": owner,
                    f"holds.{hold_id}.bytes": held["bytes"],
                    **{f"bandwidth.{day}": {"$exists": True} for day in days},
                },
                {
                    "$unset": {f"holds.{hold_id}": ""},
                    "$inc": {
                        "used_bytes": -held["bytes"],
                        **{f"bandwidth.{day}": -held["days"][day] for day in days},
                    },
                },
            )
            if result.modified_count:
                return held["bytes"]

    def hold(self, owner: str, hold_id: str) -> dict[str, Any] | None:
        """One hold as stored ({ref, bytes, days, lease_until, rev?}), or None when gone."""
        return self._held(owner, hold_id)

    def resize(self, owner: str, hold_id: str, rev: int, nbytes: int) -> bool:
        """Make the hold hold exactly `nbytes` if it is still at revision `rev`; else False.

        One conditional update. Growth is charged to storage and today's bandwidth as
        reserve charges it (QuotaExceeded, BandwidthExceeded; reaching a limit exactly is
        allowed); shrinking returns storage, and bandwidth to the latest days the account
        still counts, as give_back does. Every resize advances `rev`, even to the same size,
        so a caller that read the hold before someone else's resize gets False and reads
        again. LeaseExpired when the hold is gone.
        """
        now = self.clock()
        day = utc_day(now)
        account = self.accounts.get(owner)
        held = ((account or {}).get("holds") or {}).get(hold_id)
        if held is None:
            raise LeaseExpired()
        if held.get("rev", 0) != rev:
            return False
        delta = nbytes - held["bytes"]
        where: dict[str, Any] = {
            "_id": owner,
            f"holds.{hold_id}.bytes": held["bytes"],
            f"holds.{hold_id}.rev": rev if rev else {"$not": {"$gt": 0}},
        }
        change = {"used_bytes": delta, f"holds.{hold_id}.bytes": delta, f"holds.{hold_id}.rev": 1}
        if delta > 0:
            self._judge(account, hold_id, delta, day)
            quota, limit = account["quota_bytes"], self.accounts.daily_bandwidth_bytes
            where |= {
                "quota_bytes": quota,
                "used_bytes": {"$lte": quota - delta},
                f"bandwidth.{day}": {"$not": {"$gt": limit - delta}},
            }
            change |= {f"bandwidth.{day}": delta, f"holds.{hold_id}.days.{day}": delta}
        elif delta < 0:
            for held_day, returned in _latest_first(held, account, -delta):
                where[f"bandwidth.{held_day}"] = {"$exists": True}
                change |= {f"bandwidth.{held_day}": -returned}
                change |= {f"holds.{hold_id}.days.{held_day}": -returned}
        result = self.collection.update_one(
            where, {"$inc": change, "$set": {f"holds.{hold_id}.lease_until": now + self.lease}}
        )
        return result.modified_count == 1

    def holds_of(self, owner: str) -> dict[str, Any]:
        """The owner's holds by id (empty when none)."""
        account = self.accounts.get(owner) or {}
        return dict(account.get("holds") or {})

    def _held(self, owner: str, hold_id: str) -> dict[str, Any] | None:
        return self.holds_of(owner).get(hold_id)

    def _judge(self, account: dict[str, Any] | None, hold_id: str, nbytes: int, day: str) -> None:
        """Raise the refusal the account calls for, if any; the update re-checks atomically."""
        if account is None or hold_id not in (account.get("holds") or {}):
            raise LeaseExpired()
        if account["used_bytes"] + nbytes > account["quota_bytes"]:
            raise QuotaExceeded()
        if account.get("bandwidth", {}).get(day, 0) + nbytes > self.accounts.daily_bandwidth_bytes:
            raise BandwidthExceeded()


def _latest_first(
    held: dict[str, Any], account: dict[str, Any], nbytes: int
) -> list[tuple[str, int]]:
    """(day, bytes) to return of nbytes of a hold's bandwidth: latest counted days first."""
    counted = account.get("bandwidth") or {}
    taken: list[tuple[str, int]] = []
    for day in sorted(held.get("days") or {}, reverse=True):
        share = min(nbytes, held["days"][day])
        if share > 0 and day in counted:
            taken.append((day, share))
            nbytes -= share
        if nbytes <= 0:
            break
    return taken
