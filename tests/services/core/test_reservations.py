"""Holds on accounts: quota and bandwidth boundaries, alerts, day keys, settle and give back."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone

import mongomock
import pytest

from services.core.accounts import Accounts, percentage, utc_day
from services.core.errors import BandwidthExceeded, LeaseExpired, QuotaExceeded
from services.core.reservations import Holds
from services.core.users import User
from services.storage.documents import SerializedDatabase
from tests.fixtures.clock import FakeClock

DAY = "2026-11-21"


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def accounts(clock):
    database = SerializedDatabase(mongomock.MongoClient(tz_aware=True)["acc"])
    accounts = Accounts(
        database["accounts"], default_quota_bytes=1000, daily_bandwidth_bytes=1500, clock=clock
    )
    accounts.ensure(User("u", "u"))
    yield accounts
    database.close()


@pytest.fixture
def holds(accounts, clock):
    holds = Holds(accounts, clock=clock, lease_seconds=60)
    holds.open("u", "h", ref="files/h")
    return holds


def test_reserve_up_to_exactly_the_quota(holds):
    assert holds.reserve("u", "h", 999).used_bytes == 999
    usage = holds.reserve("u", "h", 1)
    assert usage.used_bytes == 1000 and usage.storage_percentage == 100.0
    with pytest.raises(QuotaExceeded):
        holds.reserve("u", "h", 1)
    assert holds.holds_of("u")["h"]["bytes"] == 1000


def test_quota_is_judged_before_bandwidth(holds, accounts):
    holds.reserve("u", "h", 1000)
    holds.settle("u", "h")
    accounts.free("u", 1000)
    holds.open("u", "h2", ref="files/h2")
    with pytest.raises(QuotaExceeded):
        holds.reserve("u", "h2", 1001)
    with pytest.raises(BandwidthExceeded):
        holds.reserve("u", "h2", 501)
    assert holds.reserve("u", "h2", 500).bandwidth_used == 1500


def test_give_back_returns_storage_and_bandwidth_once(holds, accounts):
    holds.reserve("u", "h", 600)
    assert holds.give_back("u", "h") == 600
    assert holds.give_back("u", "h") == 0
    account = accounts.get("u")
    assert account["used_bytes"] == 0 and account["bandwidth"][DAY] == 0
    assert account["holds"] == {}


def test_settle_keeps_the_bytes_used_and_drops_the_hold(holds, accounts):
    holds.reserve("u", "h", 600)
    assert holds.settle("u", "h") is True
    assert holds.settle("u", "h") is False
    account = accounts.get("u")
    assert account["used_bytes"] == 600 and account["holds"] == {}


def test_a_hold_that_is_gone_refuses_to_reserve(holds):
    holds.give_back("u", "h")
    with pytest.raises(LeaseExpired):
        holds.reserve("u", "h", 1)


def test_concurrent_give_backs_and_reserves_never_lose_or_double_count(holds, accounts):
    for _ in range(50):
        holds.reserve("u", "h", 10)
    with ThreadPoolExecutor(max_workers=4) as pool:
        returned = list(pool.map(lambda _: holds.give_back("u", "h"), range(4)))
    assert sorted(returned) == [0, 0, 0, 500]
    assert accounts.get("u")["used_bytes"] == 0


def test_alerts_start_at_80_percent(holds, clock):
    assert holds.reserve("u", "h", 799).storage_alert is False
    usage = holds.reserve("u", "h", 1)
    assert usage.storage_alert is True
    assert usage.bandwidth_alert is False  # 800 of 1500
    clock.advance(days=1)
    assert holds.reserve("u", "h", 100).bandwidth_used == 100


def test_a_hold_remembers_each_days_bandwidth_for_its_give_back(holds, accounts, clock):
    holds.reserve("u", "h", 100)
    clock.advance(days=1)
    holds.reserve("u", "h", 50)
    holds.give_back("u", "h")
    bandwidth = accounts.get("u")["bandwidth"]
    assert bandwidth == {DAY: 0, utc_day(clock()): 0}


def test_old_bandwidth_days_are_forgotten(holds, accounts, clock):
    for _ in range(3):
        holds.reserve("u", "h", 1)
        clock.advance(days=1)
    assert set(accounts.get("u")["bandwidth"]) == {"2026-11-22", "2026-11-23"}


def test_user_without_account_cannot_hold(accounts, clock):
    holds = Holds(accounts, clock=clock, lease_seconds=60)
    with pytest.raises(LeaseExpired):
        holds.open("nobody", "h", ref="files/h")
    with pytest.raises(LeaseExpired):
        holds.reserve("nobody", "h", 1)


def test_percentage_and_day_helpers():
    assert percentage(1, 3) == 33.33 and percentage(5, 0) == 0.0
    late = datetime(2026, 11, 21, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert utc_day(late) == "2026-11-22"
    assert utc_day(datetime(2026, 11, 21, 0, 0, tzinfo=UTC)) == DAY


def test_bandwidth_of_a_forgotten_day_is_not_given_back_as_a_negative(holds, accounts, clock):
    holds.reserve("u", "h", 100)
    clock.advance(days=3)
    holds.open("u", "other", ref="files/other")
    holds.reserve("u", "other", 1)  # forgets the hold's day
    assert holds.give_back("u", "h") == 100
    bandwidth = accounts.get("u")["bandwidth"]
    assert DAY not in bandwidth and all(n >= 0 for n in bandwidth.values())


def test_settling_a_counted_kind_moves_its_bytes_into_the_kinds_totals(holds, accounts):
    holds.count_kind("media")
    holds.reserve("u", "h", 100)
    holds.settle("u", "h")  # a "files/" hold: not counted
    holds.open("u", "m1", ref="media/m1")
    holds.reserve("u", "m1", 250)
    assert holds.settle("u", "m1") is True
    assert holds.settle("u", "m1") is False  # counted once
    account = accounts.get("u")
    assert account["used_bytes"] == 350 and account["holds"] == {}
    assert accounts.stored(account, "media").bytes == 250
    assert accounts.stored(account, "media").count == 1
    assert accounts.stored_kinds(account) == {"media": accounts.stored(account, "media")}
    accounts.free("u", 250, kind="media")
    account = accounts.get("u")
    assert account["used_bytes"] == 100
    assert (accounts.stored(account, "media").bytes, accounts.stored(account, "media").count) == (
        0,
        0,
    )


def test_concurrent_settles_of_a_counted_hold_count_it_once(holds, accounts):
    holds.count_kind("media")
    holds.open("u", "m", ref="media/m")
    holds.reserve("u", "m", 10)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: holds.settle("u", "m"), range(8)))
    assert results.count(True) == 1
    assert accounts.stored(accounts.get("u"), "media").count == 1


# --- resize: a hold whose size follows a record (part uploads) ---------------------------


def test_resize_grows_and_shrinks_storage_bandwidth_and_the_hold(holds, accounts):
    assert holds.resize("u", "h", 0, 600) is True
    assert (accounts.get("u")["used_bytes"], accounts.get("u")["bandwidth"][DAY]) == (600, 600)
    assert holds.resize("u", "h", 1, 250) is True
    account = accounts.get("u")
    assert (account["used_bytes"], account["bandwidth"][DAY]) == (250, 250)
    assert (account["holds"]["h"]["bytes"], account["holds"]["h"]["rev"]) == (250, 2)
    assert holds.give_back("u", "h") == 250
    assert accounts.get("u")["used_bytes"] == 0 and accounts.get("u")["bandwidth"][DAY] == 0


def test_resize_at_a_stale_revision_changes_nothing(holds, accounts):
    assert holds.resize("u", "h", 0, 100) is True
    assert holds.resize("u", "h", 0, 900) is False
    assert accounts.get("u")["used_bytes"] == 100


def test_resize_to_the_same_size_still_advances_the_revision(holds):
    holds.resize("u", "h", 0, 100)
    assert holds.resize("u", "h", 1, 100) is True
    assert holds.hold("u", "h")["rev"] == 2
    assert holds.resize("u", "h", 1, 300) is False  # read before the no-op: must read again


def test_resize_refuses_growth_past_the_quota_or_the_days_allowance(holds, accounts, clock):
    holds.resize("u", "h", 0, 1000)
    with pytest.raises(QuotaExceeded):
        holds.resize("u", "h", 1, 1001)
    holds.resize("u", "h", 1, 0)
    clock.advance(hours=1)  # the same day: 1000 of its 1500 already spent and given back
    holds.resize("u", "h", 2, 1000)
    holds.settle("u", "h")
    accounts.free("u", 1000)
    holds.open("u", "h2", ref="files/h2")
    with pytest.raises(BandwidthExceeded):
        holds.resize("u", "h2", 0, 501)
    assert accounts.get("u")["used_bytes"] == 0


def test_resize_of_a_hold_that_is_gone_is_lease_expired(holds):
    holds.give_back("u", "h")
    with pytest.raises(LeaseExpired):
        holds.resize("u", "h", 0, 10)


def test_shrinking_returns_the_latest_days_bandwidth_first(holds, accounts, clock):
    holds.resize("u", "h", 0, 100)
    clock.advance(days=1)
    holds.resize("u", "h", 1, 150)
    holds.resize("u", "h", 2, 60)
    bandwidth = accounts.get("u")["bandwidth"]
    assert bandwidth == {DAY: 60, utc_day(clock()): 0}
    assert holds.hold("u", "h")["days"] == {DAY: 60, utc_day(clock()): 0}


def test_concurrent_resizes_apply_one_per_revision(holds, accounts):
    holds.resize("u", "h", 0, 10)
    with ThreadPoolExecutor(max_workers=4) as pool:
        applied = list(pool.map(lambda n: holds.resize("u", "h", 1, n), [100, 200, 300, 400]))
    assert applied.count(True) == 1
    winner = [100, 200, 300, 400][applied.index(True)]
    assert accounts.get("u")["used_bytes"] == winner == holds.hold("u", "h")["bytes"]
