"""Part uploads under races and failures: one video and one charge, nothing orphaned."""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from pymongo.errors import AutoReconnect

from services.core.errors import ObjectMissing, StorageUnavailable
from services.core.sweep import HoldSweeper
from services.parts import SweptSessions
from tests.blueprints.parts.flow import (
    abort,
    complete,
    create,
    md5,
    register,
    status,
    upload_in_parts,
)
from tests.fixtures.failing import FailingStore, PartlyBrokenDatabase
from tests.helpers import account
from tests.media import make_video_of_size

SIZE = 300_000
PART = 100_000


@pytest.fixture(scope="module")
def video() -> bytes:
    return make_video_of_size(SIZE)


class MeetFirst:
    """A real collection whose first `parties` calls of `method` after arm() meet first.

    Calls before arm() (the set-up) and after the meeting pass straight through, so only
    the steps under test are put side by side.
    """

    def __init__(self, collection: Any, method: str, parties: int) -> None:
        self.collection, self.method, self.parties = collection, method, parties
        self.barrier = threading.Barrier(parties, timeout=10)
        self.left = 0
        self.lock = threading.Lock()

    def arm(self) -> None:
        self.left = self.parties

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.collection, name)
        if name != self.method:
            return target

        def meet_then_call(*args: Any, **kwargs: Any) -> Any:
            with self.lock:
                meets, self.left = self.left > 0, max(0, self.left - 1)
            if meets:
                with contextlib.suppress(threading.BrokenBarrierError):
                    self.barrier.wait()
            return target(*args, **kwargs)

        return meet_then_call


class Wrapped:
    """A database whose one collection is wrapped (the rest are the real ones)."""

    def __init__(self, database: Any, name: str, wrapper: Any) -> None:
        self.database, self.name, self.wrapper = database, name, wrapper

    def __getitem__(self, name: str) -> Any:
        return self.wrapper if name == self.name else self.database[name]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.database, name)


def meeting_app(make_app, database, collection: str, method: str, parties: int = 2):
    """An app whose `collection`.`method` calls meet once armed; returns (app, meeting)."""
    meeting = MeetFirst(database[collection], method, parties)
    return make_app(database_override=Wrapped(database, collection, meeting)), meeting


class ComposeFailingStore(FailingStore):
    """A real store whose compose writes the destination, then fails, while `fail_compose`."""

    fail_compose = False

    def compose(self, sources: list[str], destination: str, content_type: str):
        info = self.store.compose(sources, destination, content_type)
        if self.fail_compose:
            raise StorageUnavailable("injected failure after the compose wrote")
        return info


def test_two_racing_completes_make_one_video_and_one_charge(make_app, database, auth, video):
    app, meeting = meeting_app(make_app, database, "upload_sessions", "find_one_and_update")
    client = app.test_client()
    session_id, listed = upload_in_parts(client, auth(), video, PART, size=SIZE)
    meeting.arm()  # both completes try to lock the session at the same moment

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(
            pool.map(lambda _: complete(app.test_client(), auth(), session_id, listed), range(2))
        )

    assert not meeting.barrier.broken  # they did meet

    codes = sorted(a.status_code for a in answers)
    assert codes in ([200, 200], [200, 409]), [a.get_json() for a in answers]
    assert database["files"].count_documents({}) == 1
    assert account(database, "alice")["used_bytes"] == SIZE
    assert database["usage"].find_one({})["upload_count"] == 1
    assert complete(client, auth(), session_id, listed).get_json()["filename"] == "recording.webm"


def test_a_complete_racing_an_abort_ends_in_exactly_one_of_them(make_app, database, auth, video):
    app, meeting = meeting_app(make_app, database, "upload_sessions", "find_one_and_update")
    client = app.test_client()
    session_id, listed = upload_in_parts(client, auth(), video, PART, size=SIZE)
    meeting.arm()  # complete's lock and abort's status change at the same moment

    with ThreadPoolExecutor(max_workers=2) as pool:
        completing = pool.submit(complete, app.test_client(), auth(), session_id, listed)
        aborting = pool.submit(abort, app.test_client(), auth(), session_id)
        completed, aborted = completing.result(), aborting.result()

    assert not meeting.barrier.broken

    assert sorted([completed.status_code, aborted.status_code]) == [200, 409]
    state = status(client, auth(), session_id).get_json()["status"]
    used = account(database, "alice")["used_bytes"]
    if completed.status_code == 200:
        assert (state, used, database["files"].count_documents({})) == ("completed", SIZE, 1)
    else:
        assert (state, used, database["files"].count_documents({})) == ("aborted", 0, 0)
    assert account(database, "alice")["holds"] == {}


def test_concurrent_registers_hold_exactly_what_the_parts_add_up_to(
    make_app, database, auth, store
):
    # The first hold read of four syncs at once: all read one revision, one resize wins.
    app, meeting = meeting_app(make_app, database, "accounts", "find_one", parties=4)
    client = app.test_client()
    session_id = create(client, auth()).get_json()["id"]
    pieces = {n: bytes([n]) * (1000 * n) for n in range(1, 5)}
    for number, piece in pieces.items():  # in storage already: only registering races
        writer = store.open_writer(f"uploads/{session_id}/part-{number}", "video/mp4")
        writer.write(piece)
        writer.commit()
    meeting.arm()

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(
            pool.map(
                lambda n: register(app.test_client(), auth(), session_id, n, md5(pieces[n])),
                pieces,
            )
        )

    assert not meeting.barrier.broken
    assert [a.status_code for a in answers] == [200] * 4
    assert account(database, "alice")["used_bytes"] == 10_000
    assert account(database, "alice")["holds"][session_id]["bytes"] == 10_000
    assert status(client, auth(), session_id).get_json()["bytes_uploaded"] == 10_000


def test_a_storage_failure_during_compose_leaves_the_session_completable_and_charged_once(
    make_app, store, database, auth, video
):
    failing = ComposeFailingStore(store)
    client = make_app(store_override=failing).test_client()
    session_id, listed = upload_in_parts(client, auth(), video, PART, size=SIZE)
    object_name = status(client, auth(), session_id).get_json()["s3_key"]
    failing.fail_compose = True

    failed = complete(client, auth(), session_id, listed)

    assert failed.status_code == 503
    assert failed.get_json() == {"detail": "Storage is temporarily unavailable"}
    assert status(client, auth(), session_id).get_json()["status"] == "uploading"
    with pytest.raises(ObjectMissing):
        store.stat(object_name)  # what the failed compose wrote is gone
    assert database["files"].count_documents({}) == 0
    assert account(database, "alice")["used_bytes"] == SIZE
    store.stat(f"uploads/{session_id}/part-1")  # the parts are kept for the next try

    failing.fail_compose = False
    again = complete(client, auth(), session_id, listed)

    assert again.status_code == 200
    assert account(database, "alice")["used_bytes"] == SIZE
    assert account(database, "alice")["holds"] == {}
    assert database["usage"].find_one({})["upload_count"] == 1
    assert client.get("/stream/video/recording.webm", headers=auth()).data == video


def test_an_outage_after_the_commit_point_lands_the_video_on_the_next_try(
    make_app, database, auth, video
):
    broken = PartlyBrokenDatabase(database, "files", set(), error=AutoReconnect)
    client = make_app(database_override=broken).test_client()
    session_id, listed = upload_in_parts(client, auth(), video, PART, size=SIZE)
    broken.failing.add("insert_one")

    failed = complete(client, auth(), session_id, listed)

    assert failed.status_code == 503
    assert status(client, auth(), session_id).get_json()["status"] == "completed"
    assert account(database, "alice")["used_bytes"] == SIZE  # held, not yet a video

    broken.failing.clear()
    again = complete(client, auth(), session_id, listed)

    assert again.status_code == 200 and again.get_json()["filename"] == "recording.webm"
    assert database["files"].count_documents({}) == 1
    assert account(database, "alice")["used_bytes"] == SIZE
    assert account(database, "alice")["holds"] == {}


def test_reclaim_uploads_finishes_a_complete_that_failed_after_its_commit_point(
    make_app, database, auth, video, store
):
    broken = PartlyBrokenDatabase(database, "files", set(), error=AutoReconnect)
    app = make_app(database_override=broken)
    client = app.test_client()
    session_id, listed = upload_in_parts(client, auth(), video, PART, size=SIZE)
    broken.failing.add("insert_one")
    assert complete(client, auth(), session_id, listed).status_code == 503
    broken.failing.clear()

    result = app.test_cli_runner().invoke(args=["reclaim-uploads"])

    assert result.exit_code == 0, result.output
    assert client.get("/stream/video/recording.webm", headers=auth()).data == video
    assert account(database, "alice")["holds"] == {}
    with pytest.raises(ObjectMissing):
        store.stat(f"uploads/{session_id}/part-1")


def test_the_hold_sweeper_settles_a_completed_sessions_hold_and_returns_an_ended_ones(
    services, client, auth, database, clock, video
):
    completed_id, listed = upload_in_parts(client, auth(), video, PART, size=SIZE)
    aborted_id = create(client, auth(), size=1000).get_json()["id"]
    open_id = create(client, auth(), size=2000).get_json()["id"]
    # A crash after each commit point: the status changed, the hold was not resolved.
    sessions = database["upload_sessions"]
    final = {"name": "videos/x", "size": SIZE, "content_type": "video/mp4", "generation": "1"}
    sessions.update_one({"_id": completed_id}, {"$set": {"status": "completed", "final": final}})
    sessions.update_one({"_id": aborted_id}, {"$set": {"status": "aborted"}})
    clock.advance(hours=2)  # past the holds' one-hour lease
    sweeper = HoldSweeper(services.videos.uploads.writes.holds, {}, clock=clock)
    sweeper.register(SweptSessions(services.parts.sessions))

    assert sweeper.sweep() == {"settled": 1, "returned": 1}

    acct = account(database, "alice")
    assert set(acct["holds"]) == {open_id}  # still uploading: left to its expiry
    assert acct["used_bytes"] == SIZE + 2000
