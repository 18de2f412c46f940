"""Two-phase deletes: a crash at each step leaves a tombstone that is finished later, with the
quota exact (never left charged for a gone file, never freed twice).

The crash is a real store or collection failing on cue (tests/fixtures/failing.py, and
CrashOn below for one update among several); the finisher is the next DELETE, the relay's
housekeeping task or `fsck --repair`.
"""

from __future__ import annotations

from typing import Any

import pytest
from pymongo.errors import AutoReconnect

from tests.blueprints.media.helpers import uploaded_id
from tests.fixtures.audit import assert_fsck_clean, run_fsck
from tests.fixtures.failing import FailingStore
from tests.helpers import account, upload
from tests.media import make_image, make_video_of_size

LEASE = 3600


class CrashOn:
    """A real collection whose `method` raises while `matches(args)` says so (one step)."""

    def __init__(self, collection: Any, method: str, matches) -> None:
        self.collection, self.method, self.matches = collection, method, matches
        self.armed = False

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.collection, name)
        if name != self.method:
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.armed and self.matches(args):
                raise AutoReconnect(f"injected crash in {name}")
            return target(*args, **kwargs)

        return call


class CrashingDatabase:
    """The test database with some collections replaced by CrashOn wrappers."""

    def __init__(self, database: Any, **crashes: CrashOn) -> None:
        self.database, self.crashes = database, crashes

    def __getitem__(self, name: str) -> Any:
        return self.crashes.get(name) or self.database[name]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.database, name)


def frees(args) -> bool:
    return args[1].get("$inc", {}).get("used_bytes", 0) < 0


def forgets(args) -> bool:
    return any(key.startswith("freed.") for key in args[1].get("$unset", {}))


def removes(args) -> bool:
    return args[0].get("state") == "deleting"


def run_housekeeping(app, clock) -> None:
    """What the relay does on its schedule, once the tombstone is older than its grace."""
    clock.advance(seconds=120)
    app.extensions["mediastore"].events.relay.run_once()


# --- videos: DELETE /delete-file --------------------------------------------------------


def video_app(make_app, database, store, **crashes):
    return make_app(database_override=CrashingDatabase(database, **crashes), store_override=store)


@pytest.mark.parametrize("finisher", ["next delete", "housekeeping", "fsck"])
def test_video_delete_storage_outage_leaves_a_tombstone_finished_later(
    make_app, database, store, auth, clock, finisher
):
    failing = FailingStore(store)
    app = make_app(store_override=failing)
    client = app.test_client()
    upload(client, auth(), make_video_of_size(4000), "a.mp4")
    failing.fail_delete = True
    response = client.delete("/delete-file", json={"filename": "a.mp4"}, headers=auth())
    assert response.status_code == 503
    assert database["files"].find_one({"filename": "a.mp4"})["state"] == "deleting"
    assert account(database, "alice")["used_bytes"] == 4000  # still charged: object exists
    assert_fsck_clean(app)  # a young tombstone is a delete in progress, not a problem
    failing.fail_delete = False
    finish(app, client, auth, clock, finisher, "/delete-file", {"filename": "a.mp4"})
    assert database["files"].find_one({"filename": "a.mp4"}) is None
    assert account(database, "alice")["used_bytes"] == 0
    assert (
        "freed" not in account(database, "alice")
        or not account(database, "alice")["freed"]["files"]
    )
    assert_fsck_clean(app)


@pytest.mark.parametrize("step", ["free", "remove", "forget"])
@pytest.mark.parametrize("finisher", ["next delete", "housekeeping", "fsck"])
def test_video_delete_crash_at_each_step_is_finished_with_exact_quota(
    make_app, database, store, auth, clock, step, finisher
):
    crash = {
        "free": ("accounts", "update_one", frees),
        "remove": ("files", "delete_one", removes),
        "forget": ("accounts", "update_one", forgets),
    }[step]
    crasher = CrashOn(database[crash[0]], crash[1], crash[2])
    app = video_app(make_app, database, store, **{crash[0]: crasher})
    client = app.test_client()
    upload(client, auth(), make_video_of_size(4000), "a.mp4")
    upload(client, auth(), make_video_of_size(3000), "b.mp4")
    crasher.armed = True
    response = client.delete("/delete-file", json={"filename": "a.mp4"}, headers=auth())
    crasher.armed = False
    # The crash comes after the object is gone; before the record is, the request fails.
    assert response.status_code == (200 if step == "forget" else 503)
    assert account(database, "alice")["used_bytes"] in (3000, 7000)
    assert_fsck_clean(app)  # whatever step it stopped at, the quota adds up
    if step != "forget":
        finish(app, client, auth, clock, finisher, "/delete-file", {"filename": "a.mp4"})
    assert [d["filename"] for d in database["files"].find()] == ["b.mp4"]
    assert account(database, "alice")["used_bytes"] == 3000
    assert_fsck_clean(app)
    drop_leftover_notes(app)
    assert not (account(database, "alice").get("freed") or {}).get("files")


# --- media: DELETE /api/v1/media/<id> --------------------------------------------------


@pytest.mark.parametrize("step", ["object", "free", "remove", "forget"])
@pytest.mark.parametrize("finisher", ["next delete", "housekeeping", "fsck"])
def test_media_delete_crash_at_each_step_is_finished_with_exact_quota(
    make_app, database, store, auth, clock, step, finisher
):
    failing = FailingStore(store)
    crashes = {
        "free": ("accounts", "update_one", frees),
        "remove": ("media", "delete_one", removes),
        "forget": ("accounts", "update_one", forgets),
    }
    crasher = None
    if step in crashes:
        name, method, matches = crashes[step]
        crasher = CrashOn(database[name], method, matches)
        app = make_app(
            database_override=CrashingDatabase(database, **{name: crasher}), store_override=failing
        )
    else:
        app = make_app(store_override=failing)
    client = app.test_client()
    image = make_image("png", size=(64, 64))
    media_id = uploaded_id(client, auth(), image)
    other = uploaded_id(client, auth(), make_image("png", size=(32, 32)))
    used = account(database, "alice")["used_bytes"]
    size = database["media"].find_one({"_id": media_id})["file_size"]
    if crasher:
        crasher.armed = True
    failing.fail_delete = step == "object"
    response = client.delete(f"/api/v1/media/{media_id}", headers=auth())
    failing.fail_delete = False
    if crasher:
        crasher.armed = False
    assert response.status_code == (204 if step == "forget" else 503)
    assert_fsck_clean(app)
    if step != "forget":
        finish(app, client, auth, clock, finisher, f"/api/v1/media/{media_id}", None)
    assert database["media"].find_one({"_id": media_id}) is None
    assert [d["_id"] for d in database["media"].find()] == [other]
    after = account(database, "alice")
    assert after["used_bytes"] == used - size
    assert after["stored"]["media"] == {"bytes": used - size, "count": 1}
    assert_fsck_clean(app)
    drop_leftover_notes(app)
    assert not (account(database, "alice").get("freed") or {}).get("media")


def drop_leftover_notes(app) -> None:
    """A crash after the record's removal leaves the account's note (it changes no figure):
    fsck --repair drops it."""
    code, report = run_fsck(app, "--repair")
    assert code == 0 and report["remaining"] == [], report


def finish(app, client, auth, clock, finisher, path, body) -> None:
    """Finish a half-done delete the way `finisher` names."""
    if finisher == "next delete":
        response = (
            client.delete(path, json=body, headers=auth())
            if body
            else client.delete(path, headers=auth())
        )
        assert response.status_code in (200, 204, 404)
    elif finisher == "housekeeping":
        run_housekeeping(app, clock)
    else:
        clock.advance(seconds=LEASE + 1)
        code, report = run_fsck(app)
        assert code == 1 and "tombstone" in {p["check"] for p in report["problems"]}
        code, report = run_fsck(app, "--repair")
        assert code == 0 and report["remaining"] == [], report


# --- a hold a crash left unsettled, then the file deleted --------------------------------


def leave_hold_unsettled(database, clock, owner: str, record_id: str, size: int, ref: str):
    """What a crash between the commit point and the settle leaves: the hold, still full."""
    hold = {"ref": ref, "bytes": size, "days": {}, "lease_until": clock()}
    database["accounts"].update_one({"_id": owner}, {"$set": {f"holds.{record_id}": hold}})


def test_deleting_a_video_whose_hold_was_never_settled_frees_it_once(
    app, client, auth, database, clock
):
    upload(client, auth(), make_video_of_size(4000), "a.mp4")
    upload(client, auth(), make_video_of_size(3000), "b.mp4")
    record = database["files"].find_one({"filename": "a.mp4"})
    leave_hold_unsettled(database, clock, "alice", record["_id"], 4000, f"files/{record['_id']}")
    assert (
        client.delete("/delete-file", json={"filename": "a.mp4"}, headers=auth()).status_code == 200
    )
    clock.advance(seconds=LEASE + 1)
    app.extensions["mediastore"].events.relay.run_once()  # the hold sweeper's round
    assert account(database, "alice")["used_bytes"] == 3000
    assert account(database, "alice")["holds"] == {}
    assert_fsck_clean(app)


def test_deleting_media_whose_hold_was_never_settled_frees_it_once(
    app, client, auth, database, clock
):
    media_id = uploaded_id(client, auth(), make_image("png", size=(64, 64)))
    size = database["media"].find_one({"_id": media_id})["file_size"]
    # The crash came before the settle: the bytes are not in stored.media yet either.
    database["accounts"].update_one(
        {"_id": "alice"}, {"$inc": {"stored.media.bytes": -size, "stored.media.count": -1}}
    )
    leave_hold_unsettled(database, clock, "alice", media_id, size, f"media/{media_id}")
    assert client.delete(f"/api/v1/media/{media_id}", headers=auth()).status_code == 204
    clock.advance(seconds=LEASE + 1)
    app.extensions["mediastore"].events.relay.run_once()
    after = account(database, "alice")
    assert after["used_bytes"] == 0 and after["holds"] == {}
    assert after["stored"]["media"] == {"bytes": 0, "count": 0}
    code, report = run_fsck(app, "--repair")  # the MediaUploaded event is delivered too
    assert code == 0, report


def test_a_tombstone_left_before_the_flag_existed_is_finished_by_fsck(
    app, client, auth, database, clock
):
    upload(client, auth(), make_video_of_size(4000), "a.mp4")
    # A delete cut short by a version that marked tombstones by state alone.
    database["files"].update_one(
        {"filename": "a.mp4"}, {"$set": {"state": "deleting", "deleting_since": clock()}}
    )
    clock.advance(seconds=LEASE + 1)
    code, report = run_fsck(app)
    assert code == 1 and {p["check"] for p in report["problems"]} == {"tombstone"}
    code, report = run_fsck(app, "--repair")
    assert code == 0, report
    assert database["files"].find_one({"filename": "a.mp4"}) is None
    assert account(database, "alice")["used_bytes"] == 0
