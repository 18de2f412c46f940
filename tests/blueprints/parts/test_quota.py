"""Quota and bandwidth of part uploads: held at create or per part, given back, expired."""

from __future__ import annotations

import pytest

from services.core.accounts import utc_day
from services.core.errors import ObjectMissing
from tests.blueprints.parts.flow import (
    abort,
    complete,
    create,
    md5,
    presign,
    put,
    register,
    send_part,
    status,
)
from tests.helpers import account
from tests.media import make_video_of_size

QUOTA_MESSAGE = "Exceeds storage limit, cannot upload video..!!"
BANDWIDTH_MESSAGE = "Bandwidth limit exceeded or some internal upload error"


def test_a_declared_size_is_reserved_at_create_and_given_back_by_abort(
    client, auth, database, clock
):
    session_id = create(client, auth(), size=5_000_000).get_json()["id"]

    held = account(database, "alice")
    assert held["used_bytes"] == 5_000_000
    assert held["bandwidth"][utc_day(clock())] == 5_000_000
    assert held["holds"][session_id]["ref"] == f"upload_sessions/{session_id}"

    assert abort(client, auth(), session_id).status_code == 200
    returned = account(database, "alice")
    assert returned["used_bytes"] == 0 and returned["holds"] == {}
    assert returned["bandwidth"][utc_day(clock())] == 0


def test_a_declared_size_that_does_not_fit_is_403_and_leaves_no_session(make_app, auth, database):
    client = make_app(DEFAULT_STORAGE_QUOTA_BYTES=1_000_000).test_client()
    create(client, auth(), size=600_000)

    answer = create(client, auth(), size=400_001)

    assert answer.status_code == 403
    assert answer.get_json() == {"detail": QUOTA_MESSAGE}
    assert database["upload_sessions"].count_documents({}) == 1
    assert account(database, "alice")["used_bytes"] == 600_000
    assert create(client, auth(), size=400_000).status_code == 201  # exactly full is allowed


def test_a_declared_size_past_the_days_bandwidth_is_403_in_its_words(make_app, auth):
    client = make_app(DAILY_BANDWIDTH_LIMIT_BYTES=1_000_000).test_client()

    answer = create(client, auth(), size=1_000_001)

    assert answer.status_code == 403
    assert answer.get_json() == {"detail": BANDWIDTH_MESSAGE}


def test_without_a_size_each_part_is_reserved_when_registered(make_app, auth, database):
    client = make_app(DEFAULT_STORAGE_QUOTA_BYTES=250_000).test_client()
    session_id = create(client, auth()).get_json()["id"]
    assert account(database, "alice")["used_bytes"] == 0

    send_part(client, auth(), session_id, 1, b"\1" * 100_000)
    send_part(client, auth(), session_id, 2, b"\2" * 100_000)
    assert account(database, "alice")["used_bytes"] == 200_000

    signed = presign(client, auth(), session_id, 3).get_json()
    put(client, signed, b"\3" * 60_000)
    refused = register(client, auth(), session_id, 3, md5(b"\3" * 60_000))

    assert refused.status_code == 403 and refused.get_json() == {"detail": QUOTA_MESSAGE}
    assert [p["part_number"] for p in status(client, auth(), session_id).get_json()["parts"]] == [
        1,
        2,
    ]
    assert account(database, "alice")["used_bytes"] == 200_000
    # A smaller part 2 makes room: re-registering gives the old part's bytes back.
    send_part(client, auth(), session_id, 2, b"\2" * 10_000)
    assert register(client, auth(), session_id, 3, md5(b"\3" * 60_000)).status_code == 200
    assert account(database, "alice")["used_bytes"] == 170_000


def test_complete_settles_to_the_real_size_of_the_listed_parts(client, auth, database):
    video = make_video_of_size(150_000)
    session_id = create(client, auth()).get_json()["id"]
    first = send_part(client, auth(), session_id, 1, video)
    send_part(client, auth(), session_id, 2, b"\0" * 40_000)  # registered, then left out
    assert account(database, "alice")["used_bytes"] == 190_000

    answer = complete(client, auth(), session_id, [{"part_number": 1, "etag": first}])

    assert answer.get_json()["size"] == 150_000
    acct = account(database, "alice")
    assert acct["used_bytes"] == 150_000 and acct["holds"] == {}
    assert acct["bandwidth"][utc_day(acct["created_at"])] == 150_000


def test_an_expired_session_is_404_everywhere_and_its_quota_and_parts_are_reclaimed(
    client, auth, database, clock, store
):
    session_id = create(client, auth(), size=500_000).get_json()["id"]
    etag = send_part(client, auth(), session_id, 1, b"\0" * 1000)
    clock.advance(hours=24, seconds=1)

    answers = [
        status(client, auth(), session_id),
        presign(client, auth(), session_id, 2),
        register(client, auth(), session_id, 1, etag),
        complete(client, auth(), session_id, [{"part_number": 1, "etag": etag}]),
        abort(client, auth(), session_id),
    ]

    assert {a.status_code for a in answers} == {404}
    assert {a.get_json()["detail"] for a in answers} == {"Upload session not found"}
    assert account(database, "alice")["used_bytes"] == 0
    assert account(database, "alice")["holds"] == {}
    with pytest.raises(ObjectMissing):
        store.stat(f"uploads/{session_id}/part-1")
    assert database["upload_sessions"].find_one({"_id": session_id})["status"] == "expired"


def test_a_session_is_alive_until_its_expiry(client, auth, clock):
    session_id = create(client, auth(), size=1000).get_json()["id"]
    clock.advance(hours=23, minutes=59)

    assert status(client, auth(), session_id).status_code == 200


def test_reclaim_uploads_expires_every_users_abandoned_sessions_once(
    make_app, database, clock, store, token
):
    app = make_app()
    client = app.test_client()
    headers = {name: {"Authorization": f"Bearer {token(name, hours=48)}"} for name in "ab"}
    old = {name: create(client, headers[name], size=1000).get_json()["id"] for name in "ab"}
    send_part(client, headers["a"], old["a"], 1, b"\0" * 1000)
    clock.advance(hours=20)
    young = create(client, headers["b"], size=2000).get_json()["id"]
    clock.advance(hours=5)

    first = app.test_cli_runner().invoke(args=["reclaim-uploads"])
    again = app.test_cli_runner().invoke(args=["reclaim-uploads"])

    assert first.exit_code == 0, first.output
    assert "expired 2 abandoned part upload session(s)" in first.output
    assert "expired 0 abandoned part upload session(s)" in again.output
    assert "reclaimed 0 abandoned upload(s)" in first.output  # the video uploads' line
    assert account(database, "a")["used_bytes"] == 0
    assert account(database, "b")["used_bytes"] == 2000
    assert status(client, headers["b"], young).status_code == 200
    with pytest.raises(ObjectMissing):
        store.stat(f"uploads/{old['a']}/part-1")


def test_a_part_put_after_its_session_ended_is_deleted_once_its_url_expires(
    client, auth, database, clock, store
):
    session_id = create(client, auth(), size=1000).get_json()["id"]
    signed = presign(client, auth(), session_id, 1).get_json()
    abort(client, auth(), session_id)

    late = put(client, signed, b"\0" * 1000)  # the URL still works; storage cannot know

    assert late.status_code == 200
    parts, sessions = client.application.extensions["mediastore"].parts, database["upload_sessions"]
    parts.reclaim()
    with pytest.raises(ObjectMissing):
        store.stat(f"uploads/{session_id}/part-1")
    assert sessions.find_one({"_id": session_id})["todo"] is True  # the URL still works
    assert put(client, signed, b"\0" * 1000).status_code == 200
    clock.advance(hours=1, seconds=1)
    parts.reclaim()
    with pytest.raises(ObjectMissing):
        store.stat(f"uploads/{session_id}/part-1")
    assert "todo" not in sessions.find_one({"_id": session_id})
    assert put(client, signed, b"\0" * 1000).status_code == 403  # and now it does not
