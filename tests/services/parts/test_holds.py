"""What a session's hold should hold, and syncs that race converging on the newest record."""

from __future__ import annotations

import pytest

from services.core.accounts import Accounts
from services.core.errors import QuotaExceeded
from services.core.reservations import Holds
from services.core.users import User
from services.parts.holds import SessionHolds, target_bytes
from services.parts.records import SessionRecords

PART = {"etag": "x", "generation": "1"}


def session(**fields):
    return {"status": "uploading", "size": None, "parts": {}, **fields}


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (None, None),
        (session(size=500), 500),
        (session(parts={"1": {**PART, "size": 10}, "3": {**PART, "size": 5}}), 15),
        (session(size=500, lock={"id": "a", "total": 480}), 480),
        (session(lock={"id": "a"}, parts={"1": {**PART, "size": 7}}), 7),
        (session(status="completed", final={"size": 321}), 321),
        (session(status="aborted", size=500), None),
        (session(status="expired", size=500), None),
    ],
)
def test_target_bytes_follow_the_record(record, expected):
    assert target_bytes(record) == expected


@pytest.fixture
def parts(database, clock):
    accounts = Accounts(
        database["accounts"], default_quota_bytes=1000, daily_bandwidth_bytes=10_000, clock=clock
    )
    accounts.ensure(User("u", "u"))
    sessions = SessionRecords(database["upload_sessions"], clock=clock)
    holds = SessionHolds(Holds(accounts, clock=clock, lease_seconds=60), sessions)
    sessions.insert({"_id": "s", "owner": "u", **session()})
    holds.open("u", "s")
    return accounts, sessions, holds


def test_a_sync_that_read_the_record_before_a_newer_sync_cannot_undo_it(parts, database):
    accounts, sessions, holds = parts
    sessions.register("s", 1, None, {**PART, "size": 100})
    # A slow sync reads the hold, then the record (100) ...
    stale_rev = holds.holds.hold("u", "s").get("rev", 0)
    stale_target = target_bytes(sessions.get("s"))
    # ... meanwhile part 2 is registered and synced (300) ...
    sessions.register("s", 2, None, {**PART, "size": 200})
    holds.sync("u", "s")
    # ... and the slow sync's resize, made at the revision it read, misses.
    assert holds.holds.resize("u", "s", stale_rev, stale_target) is False
    assert accounts.get("u")["used_bytes"] == 300


def test_a_no_op_sync_still_fences_off_an_older_reader(parts):
    accounts, sessions, holds = parts
    sessions.register("s", 1, None, {**PART, "size": 100})
    holds.sync("u", "s")
    stale_rev = holds.holds.hold("u", "s")["rev"]
    stale_target = 0  # read before part 1 was registered, say
    holds.sync("u", "s")  # the record still says 100: nothing to change, yet it fences

    assert holds.holds.resize("u", "s", stale_rev, stale_target) is False
    assert accounts.get("u")["used_bytes"] == 100


def test_a_sync_past_the_quota_refuses_and_changes_nothing(parts):
    accounts, sessions, holds = parts
    sessions.register("s", 1, None, {**PART, "size": 1001})

    with pytest.raises(QuotaExceeded):
        holds.sync("u", "s")
    assert accounts.get("u")["used_bytes"] == 0


def test_a_sync_of_a_hold_that_is_gone_does_nothing(parts):
    accounts, sessions, holds = parts
    holds.give_back("u", "s")
    sessions.register("s", 1, None, {**PART, "size": 10})

    holds.sync("u", "s")

    assert accounts.get("u")["used_bytes"] == 0 and accounts.get("u")["holds"] == {}
