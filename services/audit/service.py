"""The consistency audit: asks each feature for its facts, checks them against the accounts,
the object store and the outbox, and repairs what it can with the features' own housekeeping.

Checks, for the whole store:
  quota    each account's used bytes == its charged files (a file being deleted counts until
           the account notes it freed) + its holds not already counted as a file; a counted
           kind's `stored.<kind>` totals == its files whose hold is settled;
  objects  every object a record needs exists; every object under a feature's prefixes (and
           the compose scratch prefix) that no record names is an orphan once it is older
           than a lease (younger ones may be uploads in flight);
  leases   no claim, session, hold, token or tombstone outlives its lease (features say
           which of theirs did; a hold did when its lease ran out and no upload of its id is
           in progress);
  outbox   every event is delivered or dead: none is still pending a lease after it was due.
The audit reads without locking: under traffic, a quota figure read while an upload moves
between its steps can differ for a moment, so a quota mismatch is reported only when a
second read finds the same account unchanged and still mismatched. Repairs are conditional
updates (a quota is corrected only while it is what the audit read).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.audit.report import AuditReport
from services.core.accounts import Accounts
from services.core.cleanup import quietly
from services.core.errors import ObjectMissing
from services.core.facts import ChargedFile, FeatureFacts, Finding
from services.events.outbox import Outbox
from services.storage.objects import ObjectStore

log = logging.getLogger("mediastore.audit")

# Scratch objects of composes with more than 32 sources (services/storage/objects/gcs.py).
SCRATCH_PREFIXES = (".mediastore-compose/",)


@dataclass(frozen=True)
class FeatureSource:
    """One feature as the audit sees it: its own facts, and its own housekeeping."""

    name: str
    facts: Callable[[datetime, timedelta], FeatureFacts]
    housekeeping: Callable[[], Any]


@dataclass(frozen=True)
class _Expected:
    """What an account should say, from the features' files and the account's holds."""

    used_bytes: int
    kinds: dict[str, tuple[int, int]]  # kind -> (bytes, count)


class Audit:
    """Runs the checks of the module docstring, and with repair=True fixes what they found."""

    def __init__(
        self,
        *,
        sources: list[FeatureSource],
        accounts: Accounts,
        store: ObjectStore,
        outbox: Outbox,
        sweep_holds: Callable[[], Any],
        clock: Callable[[], datetime],
        lease_seconds: int,
    ) -> None:
        self.sources = sources
        self.accounts = accounts
        self.store = store
        self.outbox = outbox
        self.sweep_holds = sweep_holds
        self.clock = clock
        self.lease = timedelta(seconds=lease_seconds)

    def run(self, *, repair: bool = False) -> AuditReport:
        """Audit the whole store; with `repair`, fix what can be fixed and audit again."""
        report = AuditReport(at=self.clock())
        report.found, report.checked = self._audit()
        if repair:
            report.repaired = self._repair()
            report.remaining, _ = self._audit()
        return report

    # --- checks ------------------------------------------------------------------------

    def _audit(self) -> tuple[list[Finding], dict[str, int]]:
        now = self.clock()
        facts = self._facts(now)
        accounts = self.accounts.every_account()
        objects = self._objects(facts, now)
        findings = self._quota(facts, accounts, now)
        findings += objects
        findings += [finding for feature in facts for finding in feature.overdue]
        findings += self._holds(facts, accounts, now)
        findings += self._outbox(now)
        checked = {
            "accounts": len(accounts),
            "records": sum(len(f.expected) + len(f.in_progress) for f in facts),
            "objects": self._listed_count,
        }
        return findings, checked

    def _facts(self, now: datetime) -> list[FeatureFacts]:
        return [source.facts(now, self.lease) for source in self.sources]

    def _quota(
        self, facts: list[FeatureFacts], accounts: list[dict[str, Any]], now: datetime
    ) -> list[Finding]:
        first = self._mismatches(facts, accounts)
        if not first:
            return []
        # Read again: a mismatch seen twice on an unchanged account is not an upload in flight.
        second = self._mismatches(self._facts(now), self.accounts.every_account())
        return [
            Finding("quota", f"accounts/{owner}", detail)
            for owner, (seen, _, detail) in second.items()
            if owner in first and _same_account(first[owner][0], seen)
        ]

    def _mismatches(
        self, facts: list[FeatureFacts], accounts: list[dict[str, Any]]
    ) -> dict[str, tuple[dict[str, Any], _Expected, str]]:
        """owner -> (account as read, what it should say, what differs)."""
        charged: dict[str, list[ChargedFile]] = defaultdict(list)
        for feature in facts:
            for file in feature.charged:
                charged[file.owner].append(file)
        by_owner = {account["_id"]: account for account in accounts}
        found = {}
        for owner in set(by_owner) | set(charged):
            account = by_owner.get(owner)
            if account is None:
                found[owner] = ({}, _Expected(0, {}), "files are charged to a missing account")
                continue
            expected = _expected(account, charged.get(owner, []))
            detail = _difference(account, expected)
            if detail:
                found[owner] = (account, expected, detail)
        return found

    def _objects(self, facts: list[FeatureFacts], now: datetime) -> list[Finding]:
        prefixes = [p for feature in facts for p in feature.prefixes] + list(SCRATCH_PREFIXES)
        listed: set[str] = set()
        findings = []
        for prefix in prefixes:
            for obj in self.store.list_objects(prefix):
                listed.add(obj.name)
                if obj.created < now - self.lease and not any(f.knows(obj.name) for f in facts):
                    findings.append(
                        Finding("orphan_object", obj.name, f"{obj.size} bytes, no record names it")
                    )
        self._listed_count = len(listed)
        expected = {name for feature in facts for name in feature.expected}
        missing = [name for name in sorted(expected - listed) if not self._exists(name)]
        if missing:
            # Read the records again: a file deleted since the first read is not missing.
            still = {name for feature in self._facts(self.clock()) for name in feature.expected}
            findings += [
                Finding("missing_object", name, "a record names it, storage lacks it")
                for name in missing
                if name in still
            ]
        return findings

    def _exists(self, name: str) -> bool:
        """True when storage has the object (asked directly: it may lie outside the prefixes)."""
        try:
            self.store.stat(name)
        except ObjectMissing:
            return False
        return True

    def _holds(
        self, facts: list[FeatureFacts], accounts: list[dict[str, Any]], now: datetime
    ) -> list[Finding]:
        in_progress = {claim for feature in facts for claim in feature.in_progress}
        return [
            Finding("lease", f"accounts/{account['_id']}/holds/{hold_id}", "hold past its lease")
            for account in accounts
            for hold_id, hold in (account.get("holds") or {}).items()
            if hold.get("lease_until") is not None
            and hold["lease_until"] < now
            and hold_id not in in_progress
        ]

    def _outbox(self, now: datetime) -> list[Finding]:
        return [
            Finding(
                "outbox",
                f"outbox/{event['_id']}",
                f"{event.get('type')} due since {event['available_at'].isoformat()}, "
                f"{event.get('attempts', 0)} attempt(s), not delivered",
            )
            for event in self.outbox.stuck(now - self.lease)
        ]

    # --- repairs -----------------------------------------------------------------------

    def _repair(self) -> list[str]:
        done = []
        for source in self.sources:
            result = quietly(source.housekeeping, log)
            done.append(f"{source.name} housekeeping: {_describe(result)}")
        done.append(f"holds swept: {_describe(quietly(self.sweep_holds, log))}")
        delivered = 0
        for _ in range(100):  # bounded: a bus that is down leaves the rest for later
            batch = quietly(self.outbox.relay, log) or 0
            delivered += batch
            if not batch:
                break
        done.append(f"outbox: {delivered} event(s) delivered")
        now = self.clock()
        facts = self._facts(now)
        for finding in self._objects(facts, now):
            if finding.check == "orphan_object" and quietly(
                lambda n=finding.subject: self.store.delete(n), log
            ):
                done.append(f"deleted orphan object {finding.subject}")
        for owner, (seen, expected, detail) in self._mismatches(
            facts, self.accounts.every_account()
        ).items():
            if seen and self._correct(owner, seen, expected):
                done.append(f"corrected accounts/{owner}: {detail}")
        return done

    def _correct(self, owner: str, seen: dict[str, Any], expected: _Expected) -> bool:
        fields = {"used_bytes": expected.used_bytes}
        for kind, (nbytes, count) in expected.kinds.items():
            fields |= {f"stored.{kind}.bytes": nbytes, f"stored.{kind}.count": count}
        return bool(quietly(lambda: self.accounts.correct(owner, seen, fields), log))


def _expected(account: dict[str, Any], files: list[ChargedFile]) -> _Expected:
    """What the account should say: its files not yet freed, plus holds no file counts."""
    holds = account.get("holds") or {}
    freed = account.get("freed") or {}
    counted = [file for file in files if not _is_freed(freed, file.tombstone)]
    file_ids = {file.record_id for file in files}
    used = sum(file.size for file in counted)
    used += sum(hold.get("bytes", 0) for hold_id, hold in holds.items() if hold_id not in file_ids)
    kinds: dict[str, tuple[int, int]] = {kind: (0, 0) for kind in account.get("stored") or {}}
    for file in counted:
        # A file whose hold is still open is added to its kind when the hold settles.
        if file.kind is not None and file.record_id not in holds:
            nbytes, count = kinds.get(file.kind, (0, 0))
            kinds[file.kind] = (nbytes + file.size, count + 1)
    return _Expected(used, kinds)


def _is_freed(freed: dict[str, Any], tombstone: str | None) -> bool:
    if tombstone is None:
        return False
    collection, _, record_id = tombstone.partition(".")
    return record_id in (freed.get(collection) or {})


def _difference(account: dict[str, Any], expected: _Expected) -> str:
    """What differs between an account and what it should say ('' when nothing)."""
    differences = []
    used = account.get("used_bytes", 0)
    if used != expected.used_bytes:
        differences.append(f"used_bytes {used}, files and holds add up to {expected.used_bytes}")
    stored = account.get("stored") or {}
    for kind, (nbytes, count) in expected.kinds.items():
        have = stored.get(kind) or {}
        if (have.get("bytes", 0), have.get("count", 0)) != (nbytes, count):
            differences.append(
                f"stored.{kind} {have.get('bytes', 0)} bytes/{have.get('count', 0)} files, "
                f"its files add up to {nbytes}/{count}"
            )
    return "; ".join(differences)


def _same_account(first: dict[str, Any], second: dict[str, Any]) -> bool:
    keys = ("used_bytes", "holds", "stored", "freed")
    return all(first.get(key) == second.get(key) for key in keys)


def _describe(result: Any) -> str:
    return "failed (see the log)" if result is None else str(result)
