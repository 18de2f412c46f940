"""Account arithmetic: quota and bandwidth boundaries, alerts, day keys."""

from __future__ import annotations

import mongomock
import pytest

from services.core.accounts import Accounts, percentage, utc_day
from services.core.errors import BandwidthExceeded, QuotaExceeded
from services.core.users import User
from services.storage.documents import SerializedDatabase
from tests.fixtures.clock import FakeClock

DAY = "2026-11-21"


@pytest.fixture
def accounts():
    database = SerializedDatabase(mongomock.MongoClient(tz_aware=True)["acc"])
    accounts = Accounts(
        database["accounts"],
        default_quota_bytes=1000,
        daily_bandwidth_bytes=1500,
        clock=FakeClock(),
    )
    accounts.ensure(User("u", "u"))
    yield accounts
    database.close()


def test_reserve_up_to_exactly_the_quota(accounts):
    assert accounts.reserve("u", 999, DAY).used_bytes == 999
    usage = accounts.reserve("u", 1, DAY)
    assert usage.used_bytes == 1000 and usage.storage_percentage == 100.0
    with pytest.raises(QuotaExceeded):
        accounts.reserve("u", 1, DAY)


def test_quota_is_judged_before_bandwidth(accounts):
    accounts.reserve("u", 1000, DAY)
    accounts.free("u", 1000)
    with pytest.raises(QuotaExceeded):
        accounts.reserve("u", 1001, DAY)
    with pytest.raises(BandwidthExceeded):
        accounts.reserve("u", 501, DAY)
    assert accounts.reserve("u", 500, DAY).bandwidth_used == 1500


def test_release_returns_both_storage_and_bandwidth(accounts):
    accounts.reserve("u", 600, DAY)
    accounts.release("u", 600, DAY)
    account = accounts.get("u")
    assert account["used_bytes"] == 0 and account["bandwidth"][DAY] == 0


def test_alerts_start_at_80_percent(accounts):
    assert accounts.reserve("u", 799, DAY).storage_alert is False
    usage = accounts.reserve("u", 1, DAY)
    assert usage.storage_alert is True
    assert usage.bandwidth_alert is False  # 800 of 1500
    assert accounts.reserve("u", 100, "2026-11-20").bandwidth_used == 100


def test_old_bandwidth_days_are_forgotten(accounts):
    accounts.reserve("u", 1, "2026-11-18")
    accounts.reserve("u", 1, "2026-11-20")
    accounts.reserve("u", 1, DAY)
    assert set(accounts.get("u")["bandwidth"]) == {"2026-11-20", DAY}


def test_user_without_account_cannot_reserve(accounts):
    with pytest.raises(QuotaExceeded):
        accounts.reserve("nobody", 1, DAY)


def test_percentage_and_day_helpers():
    assert percentage(1, 3) == 33.33 and percentage(5, 0) == 0.0
    from datetime import UTC, datetime, timedelta, timezone

    late = datetime(2026, 11, 21, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert utc_day(late) == "2026-11-22"
    assert utc_day(datetime(2026, 11, 21, 0, 0, tzinfo=UTC)) == DAY
