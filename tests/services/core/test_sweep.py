"""Holds a crash left behind are settled or given back by the state of their claim."""

from __future__ import annotations

import pytest

from services.core.accounts import Accounts
from services.core.claims import Claims
from services.core.reservations import Holds
from services.core.sweep import HoldSweeper
from services.core.users import User


@pytest.fixture
def rig(database, clock):
    accounts = Accounts(
        database["accounts"], default_quota_bytes=10_000, daily_bandwidth_bytes=10_000, clock=clock
    )
    accounts.ensure(User("u", "u"))
    holds = Holds(accounts, clock=clock, lease_seconds=60)
    claims = Claims(database["files"], clock=clock, lease_seconds=60)
    return accounts, holds, claims, HoldSweeper(holds, {claims.name: claims}, clock=clock)


def crash_mid_upload(holds, claims, claim_id: str, nbytes: int, *, stored: bool) -> None:
    """An upload whose process stopped after reserving: its claim and its hold stay."""
    claims.take({"owner": "u", "filename": f"{claim_id}.mp4"}, claim_id)
    holds.open("u", claim_id, ref=f"{claims.name}/{claim_id}")
    holds.reserve("u", claim_id, nbytes)
    if stored:
        claims.commit(claim_id, {"size": nbytes})


def test_expired_holds_are_settled_or_returned_by_their_claims_state(rig, clock, database):
    accounts, holds, claims, sweeper = rig
    crash_mid_upload(holds, claims, "stored", 1000, stored=True)  # crashed before settle
    crash_mid_upload(holds, claims, "gone", 2000, stored=False)
    database["files"].delete_one({"_id": "gone"})  # reclaimed, but the hold was not returned
    crash_mid_upload(holds, claims, "running", 4000, stored=False)  # still uploading

    assert sweeper.sweep() == {"settled": 0, "returned": 0}  # leases still running
    clock.advance(seconds=61)
    assert sweeper.sweep() == {"settled": 1, "returned": 1}
    account = accounts.get("u")
    assert account["used_bytes"] == 1000 + 4000
    assert set(account["holds"]) == {"running"}  # left to the claim's own reclaim
    assert sweeper.sweep() == {"settled": 0, "returned": 0}


def test_a_hold_of_an_unknown_collection_is_left_alone(rig, clock):
    accounts, holds, _, sweeper = rig
    holds.open("u", "x", ref="elsewhere/x")
    holds.reserve("u", "x", 10)
    clock.advance(minutes=5)
    assert sweeper.sweep() == {"settled": 0, "returned": 0}
    assert "x" in accounts.get("u")["holds"]
