"""Storage accounts: each user's quota, bytes used and daily upload bandwidth."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from services.core.users import User

ALERT_PERCENT = 80.0


def utc_day(moment: datetime) -> str:
    """The UTC calendar day a moment falls in, as YYYY-MM-DD."""
    # What strftime("%Y-%m-%d") writes for years 1000-9999, at a sixth of its cost.
    return moment.astimezone(UTC).date().isoformat()


def _field(doc: dict[str, Any], dotted: str) -> Any:
    """The value at a dotted path of a document (None where missing)."""
    for key in dotted.split("."):
        doc = doc.get(key) if isinstance(doc, dict) else None
    return doc


def percentage(part: int, whole: int) -> float:
    """part/whole as a percentage rounded to two places (0 when whole is 0)."""
    return round(part * 100.0 / whole, 2) if whole else 0.0


@dataclass(frozen=True)
class AccountUsage:
    """A snapshot of one account after a change."""

    used_bytes: int
    quota_bytes: int
    bandwidth_used: int
    bandwidth_limit: int

    @property
    def storage_percentage(self) -> float:
        return percentage(self.used_bytes, self.quota_bytes)

    @property
    def bandwidth_percentage(self) -> float:
        return percentage(self.bandwidth_used, self.bandwidth_limit)

    @property
    def storage_alert(self) -> bool:
        return self.used_bytes * 100 >= ALERT_PERCENT * self.quota_bytes

    @property
    def bandwidth_alert(self) -> bool:
        return self.bandwidth_used * 100 >= ALERT_PERCENT * self.bandwidth_limit


@dataclass(frozen=True)
class StoredTotals:
    """What one kind of file (a claims collection the account counts) adds up to."""

    bytes: int
    count: int


class Accounts:
    """One document per user: {_id, email, username, quota_bytes, used_bytes, bandwidth, holds}.

    `bandwidth` maps a UTC day to the bytes uploaded (or reserved for upload) that day, and
    `holds` the uploads in progress (services/core/reservations.py), and `stored.<kind>`
    the bytes and count of the kinds of file the account counts separately. Quota, bandwidth and
    holds live in one document so that one conditional update changes them together.
    Every API's files count toward the same account: one user, one quota.
    """

    def __init__(
        self,
        collection: Any,
        *,
        default_quota_bytes: int,
        daily_bandwidth_bytes: int,
        clock: Callable[[], datetime],
    ) -> None:
        self.collection = collection
        self.default_quota_bytes = default_quota_bytes
        self.daily_bandwidth_bytes = daily_bandwidth_bytes
        self.clock = clock

    def ensure(self, user: User) -> None:
        """Create the user's account with the default quota if it does not exist yet."""
        self.collection.update_one(
            {"_id": user.id},
            {
                "$setOnInsert": {
                    "quota_bytes": self.default_quota_bytes,
                    "used_bytes": 0,
                    "bandwidth": {},
                    "holds": {},
                    "created_at": self.clock(),
                },
                "$set": {"email": user.email, "username": user.username},
            },
            upsert=True,
        )

    def get(self, user_id: str) -> dict[str, Any] | None:
        """The account document, or None for a user who never uploaded."""
        return self.collection.find_one({"_id": user_id})

    def usage(self, account: dict[str, Any] | None, day: str) -> AccountUsage:
        """Describe an account (or a not-yet-created one) on a given day."""
        account = account or {}
        return AccountUsage(
            used_bytes=account.get("used_bytes", 0),
            quota_bytes=account.get("quota_bytes", self.default_quota_bytes),
            bandwidth_used=account.get("bandwidth", {}).get(day, 0),
            bandwidth_limit=self.daily_bandwidth_bytes,
        )

    def free(self, user_id: str, nbytes: int, kind: str | None = None) -> None:
        """Give back the storage of a deleted file (bandwidth already spent stays spent).

        With `kind` (a counted kind, see Holds.count_kind) the same update takes the file
        out of `stored.<kind>`, so the per-kind totals always add up to what is used.
        """
        change = {"used_bytes": -nbytes}
        if kind is not None:
            change |= {f"stored.{kind}.bytes": -nbytes, f"stored.{kind}.count": -1}
        self.collection.update_one({"_id": user_id}, {"$inc": change})

    def free_once(self, user_id: str, nbytes: int, tombstone: str, kind: str | None = None) -> bool:
        """Free a deleted file's bytes once: the account notes `freed.<tombstone>` in the same
        update, so a retry, a sweeper or fsck finishing the same delete never frees twice.

        `tombstone` is "<collection>.<record id>" of the record being deleted. False when
        it was freed already (or the account is gone). forget_freed() drops the note once
        the record is gone.
        """
        change: dict[str, Any] = {"used_bytes": -nbytes}
        if kind is not None:
            change |= {f"stored.{kind}.bytes": -nbytes, f"stored.{kind}.count": -1}
        result = self.collection.update_one(
            {"_id": user_id, f"freed.{tombstone}": {"$exists": False}},
            {"$inc": change, "$set": {f"freed.{tombstone}": nbytes}},
        )
        return result.modified_count == 1

    def is_freed(self, user_id: str, tombstone: str) -> bool:
        """True when free_once(…, tombstone) took effect and its note is still kept."""
        return (
            self.collection.count_documents(
                {"_id": user_id, f"freed.{tombstone}": {"$exists": True}}
            )
            == 1
        )

    def forget_freed(self, user_id: str, tombstone: str) -> None:
        """Drop the note of a freed delete whose record is gone (idempotent)."""
        self.collection.update_one({"_id": user_id}, {"$unset": {f"freed.{tombstone}": ""}})

    def freed_notes(self, collection: str) -> list[tuple[str, str]]:
        """(owner, record id) of every freed delete of `collection` whose note is kept."""
        found = self.collection.find({f"freed.{collection}": {"$exists": True}}, {"freed": 1})
        return [
            (doc["_id"], record_id)
            for doc in found
            for record_id in ((doc.get("freed") or {}).get(collection) or {})
        ]

    def every_account(self) -> list[dict[str, Any]]:
        """Every account document (for the consistency audit)."""
        return list(self.collection.find({}))

    def correct(self, user_id: str, seen: dict[str, Any], fields: dict[str, int]) -> bool:
        """Set counters to audited values, only if they are still what the audit read."""
        where = {"_id": user_id, **{name: _field(seen, name) for name in fields}}
        return self.collection.update_one(where, {"$set": fields}).modified_count == 1

    def stored(self, account: dict[str, Any] | None, kind: str) -> StoredTotals:
        """The bytes and files of one counted kind an account holds (zero when none)."""
        totals = ((account or {}).get("stored") or {}).get(kind) or {}
        return StoredTotals(totals.get("bytes", 0), totals.get("count", 0))

    def stored_kinds(self, account: dict[str, Any] | None) -> dict[str, StoredTotals]:
        """Every counted kind an account has totals for."""
        kinds = (account or {}).get("stored") or {}
        return {kind: self.stored(account, kind) for kind in kinds}

    def forget_old_days(self, account: dict[str, Any], day: str) -> None:
        """Drop bandwidth counters older than yesterday so the document stays small."""
        yesterday = utc_day(
            datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC) - timedelta(days=1)
        )
        stale = [d for d in account.get("bandwidth", {}) if d not in {day, yesterday}]
        if stale:
            self.collection.update_one(
                {"_id": account["_id"]}, {"$unset": {f"bandwidth.{d}": "" for d in stale}}
            )
