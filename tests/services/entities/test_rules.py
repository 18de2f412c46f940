"""The filter syntax, the hierarchy lock and the read-auth switch, on their own."""

from __future__ import annotations

import threading

import pytest

from services.entities import InvalidFilter, ReadAuthSwitch, parse_filter
from services.entities.hierarchy import HierarchyBusy, HierarchyLock


def test_a_filter_reads_into_typed_values():
    assert parse_filter("type:image, is_collection:false,parent_id:null,parent_id:7") == {
        "type": ["image"],
        "is_collection": [False],
        "parent_id": [None, 7],
    }
    assert parse_filter("mime_type:image/png,md5:ABC") == {
        "mime_type": ["image/png"],
        "md5": ["abc"],
    }


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("label:x", "label"),
        ("type", "type"),
        (":image", ":image"),
        ("type:image,", "''"),
        ("parent_id:-1", "parent_id"),
        ("is_collection:yes please", "is_collection"),
    ],
)
def test_a_bad_filter_names_the_culprit(text, named):
    with pytest.raises(InvalidFilter, match=named):
        parse_filter(text)


def test_the_lock_is_held_by_one_at_a_time(database, clock):
    lock = HierarchyLock(database["locks"], clock=clock, attempts=3, pause_seconds=0.001)
    lock.ensure()

    with lock.held(), pytest.raises(HierarchyBusy), lock.held():
        pass
    with lock.held():
        pass  # released after the first block


def test_a_lock_left_by_a_dead_holder_is_taken_once_its_lease_ran_out(database, clock):
    lock = HierarchyLock(
        database["locks"], clock=clock, lease_seconds=30, attempts=2, pause_seconds=0.001
    )
    lock.ensure()
    database["locks"].update_one({}, {"$set": {"holder": "dead", "until": clock()}})

    clock.advance(seconds=1)
    with lock.held():
        assert database["locks"].find_one({})["holder"] != "dead"


def test_a_waiter_gets_the_lock_when_the_holder_lets_go(database, clock):
    lock = HierarchyLock(database["locks"], clock=clock, attempts=400, pause_seconds=0.005)
    lock.ensure()
    taken = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with lock.held():
            taken.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    taken.wait(5)
    threading.Timer(0.05, release.set).start()
    with lock.held():
        pass
    holder.join(5)


def test_the_switch_defaults_to_the_environment_until_set(database, clock):
    switch = ReadAuthSwitch(database["settings"], clock=clock, default=True)

    assert switch.enabled() is True
    assert switch.state() == {"read_auth_enabled": True, "updated_at": None, "updated_by": None}
    switch.set(False, "root")
    assert switch.enabled() is False


def test_another_instance_sees_a_change_after_at_most_the_cache_time(database, clock):
    mine = ReadAuthSwitch(database["settings"], clock=clock, default=False, cache_seconds=5)
    theirs = ReadAuthSwitch(database["settings"], clock=clock, default=False, cache_seconds=5)
    assert theirs.enabled() is False

    mine.set(True, "root")

    assert theirs.enabled() is False
    clock.advance(seconds=5)
    assert theirs.enabled() is True
