"""The consistency audit (`flask fsck`): each check finds what it promises, --repair fixes
it and says so, and a store every API has written to is clean."""

from __future__ import annotations

import pytest

from services.core.users import User
from tests.blueprints.media.helpers import uploaded_id
from tests.blueprints.parts.flow import complete, create, send_part, upload_in_parts
from tests.fixtures.audit import assert_fsck_clean, run_fsck
from tests.fixtures.entities import create as create_entity
from tests.helpers import account, upload
from tests.media import make_image, make_video_of_size

LEASE = 3600


def checks(report) -> set[str]:
    return {problem["check"] for problem in report["problems"]}


def put_object(store, name: str, data: bytes = b"x" * 100) -> None:
    writer = store.open_writer(name, "application/octet-stream")
    writer.write(data)
    writer.commit()


def test_every_api_leaves_a_clean_store(make_app, auth, database, store, clock):
    app = make_app(AUTH_DISABLED=True)
    client = app.test_client()
    video = make_video_of_size(300_000)
    upload(client, auth(), make_video_of_size(4000), "a.mp4")
    upload(client, auth(), make_video_of_size(5000), "b.mp4")
    client.delete("/delete-file", json={"filename": "b.mp4"}, headers=auth())
    uploaded_id(client, auth(), make_image("png", size=(64, 64)))
    gone = uploaded_id(client, auth("bob"), make_image("png", size=(32, 32)))
    client.delete(f"/api/v1/media/{gone}", headers=auth("bob"))
    session_id, listed = upload_in_parts(client, auth(), video, 100_000, size=300_000)
    assert complete(client, auth(), session_id, listed).status_code == 200
    open_session = create(client, auth("bob"), size=300_000).get_json()["id"]
    send_part(client, auth("bob"), open_session, 1, video[:100_000])
    assert create_entity(client, make_image("png", size=(40, 40)), label="x").status_code == 201
    assert client.get("/poster/a.mp4", headers=auth()).status_code in (200, 404, 415)
    report = assert_fsck_clean(app)
    assert report["checked"]["accounts"] == 2
    clock.advance(seconds=LEASE - 1)  # everything is still within its lease
    assert_fsck_clean(app)


def test_leaked_quota_is_found_and_given_back(app, client, auth, database):
    upload(client, auth(), make_video_of_size(4000), "a.mp4")
    database["accounts"].update_one({"_id": "alice"}, {"$inc": {"used_bytes": 1234}})
    code, report = run_fsck(app)
    assert code == 1 and checks(report) == {"quota"}
    assert "used_bytes 5234, files and holds add up to 4000" in report["problems"][0]["detail"]
    code, report = run_fsck(app, "--repair")
    assert code == 0 and report["remaining"] == []
    assert any(line.startswith("corrected accounts/alice") for line in report["repaired"])
    assert account(database, "alice")["used_bytes"] == 4000
    assert_fsck_clean(app)


def test_media_kind_totals_are_checked_and_corrected(app, client, auth, database):
    uploaded_id(client, auth(), make_image("png", size=(64, 64)))
    database["accounts"].update_one({"_id": "alice"}, {"$inc": {"stored.media.count": 3}})
    code, report = run_fsck(app)
    assert code == 1 and "stored.media" in report["problems"][0]["detail"]
    run_fsck(app, "--repair")
    assert account(database, "alice")["stored"]["media"]["count"] == 1
    assert_fsck_clean(app)


def test_an_orphan_object_is_found_only_once_older_than_a_lease(app, store, clock):
    put_object(store, "videos/someone/stray")
    assert_fsck_clean(app)  # young: may be an upload in flight
    clock.advance(seconds=LEASE + 1)
    code, report = run_fsck(app)
    assert code == 1 and report["problems"] == [
        {"check": "orphan_object", "subject": "videos/someone/stray",
         "detail": "100 bytes, no record names it"}
    ]  # fmt: skip
    code, report = run_fsck(app, "--repair")
    assert code == 0 and "deleted orphan object videos/someone/stray" in report["repaired"]
    assert list(store.list_objects("videos/")) == []


def test_objects_outside_the_services_prefixes_are_not_judged(app, store, clock):
    put_object(store, "elsewhere/keep")
    clock.advance(seconds=LEASE + 1)
    assert_fsck_clean(app)


def test_a_record_without_its_object_is_reported_and_left(app, client, auth, database, store):
    upload(client, auth(), make_video_of_size(4000), "a.mp4")
    name = database["files"].find_one({"filename": "a.mp4"})["object_name"]
    store.delete(name)
    code, report = run_fsck(app, "--repair")
    assert code == 1
    assert report["remaining"] == [
        {"check": "missing_object", "subject": name,
         "detail": "a record names it, storage lacks it"}
    ]  # fmt: skip


def test_an_abandoned_upload_outliving_its_lease_is_found_and_reclaimed(app, auth, database, clock):
    services = app.extensions["mediastore"]
    uploads = services.videos.uploads

    alice = User("alice", "alice", None)
    services.accounts.ensure(alice)
    claim = uploads.claims.take({"owner": "alice", "filename": "x.mp4", "object_name": "videos/x"})
    services.videos.uploads.writes.holds.open("alice", claim["_id"], ref=f"files/{claim['_id']}")
    services.videos.uploads.writes.holds.reserve("alice", claim["_id"], 5000)
    assert_fsck_clean(app)  # an upload in progress: its hold counts, its claim is leased
    clock.advance(seconds=LEASE + 1)
    code, report = run_fsck(app)
    assert code == 1 and checks(report) == {"lease"}
    assert report["problems"][0]["subject"] == f"files/{claim['_id']}"
    code, report = run_fsck(app, "--repair")
    assert code == 0, report
    assert account(database, "alice")["used_bytes"] == 0
    assert database["files"].find_one({"_id": claim["_id"]}) is None


def test_a_hold_left_by_a_crash_is_found_and_swept(app, client, auth, database, clock):
    upload(client, auth(), make_video_of_size(4000), "a.mp4")
    # A crash after the commit point, before the hold was settled, as the write path says.
    record = database["files"].find_one({"filename": "a.mp4"})
    hold = {"ref": f"files/{record['_id']}", "bytes": 0, "days": {}, "lease_until": clock()}
    database["accounts"].update_one({"_id": "alice"}, {"$set": {f"holds.{record['_id']}": hold}})
    assert_fsck_clean(app)  # its bytes are the file's: counted once
    clock.advance(seconds=1)
    code, report = run_fsck(app)
    assert code == 1 and report["problems"][0]["detail"] == "hold past its lease"
    code, report = run_fsck(app, "--repair")
    assert code == 0 and "holds swept: {'settled': 1, 'returned': 0}" in report["repaired"]
    assert account(database, "alice")["holds"] == {}


def test_an_expired_part_session_is_found_and_expired(app, client, auth, database, clock):
    session_id = create(client, auth(), size=300_000).get_json()["id"]
    send_part(client, auth(), session_id, 1, make_video_of_size(300_000)[:100_000])
    clock.advance(hours=25)
    code, report = run_fsck(app)
    assert code == 1 and f"upload_sessions/{session_id}" in {
        p["subject"] for p in report["problems"]
    }
    code, report = run_fsck(app, "--repair")
    assert code == 0, report
    assert account(database, "alice")["used_bytes"] == 0
    assert list(app.extensions["mediastore"].store.list_objects("uploads/")) == []


def test_an_undelivered_event_is_found_and_delivered(app, client, auth, database, clock):
    uploaded_id(client, auth(), make_image("png", size=(64, 64)))  # MediaUploaded in the outbox
    assert_fsck_clean(app)
    clock.advance(seconds=LEASE + 1)
    code, report = run_fsck(app)
    assert code == 1 and checks(report) == {"outbox"}
    code, report = run_fsck(app, "--repair")
    assert code == 0 and "outbox: 1 event(s) delivered" in report["repaired"]
    assert database["outbox"].find_one({})["state"] == "delivered"


def test_text_report_names_each_problem_and_repair(app, runner, client, auth, database):
    upload(client, auth(), make_video_of_size(4000), "a.mp4")
    database["accounts"].update_one({"_id": "alice"}, {"$inc": {"used_bytes": 1}})
    result = runner.invoke(args=["fsck"])
    assert result.exit_code == 1
    assert "PROBLEM quota: accounts/alice: used_bytes 4001" in result.output
    result = runner.invoke(args=["fsck", "--repair"])
    assert result.exit_code == 0
    assert "REPAIRED corrected accounts/alice" in result.output
    assert result.output.rstrip().endswith("clean after repair")


@pytest.mark.usefixtures("fake_gcs")
def test_orphans_on_gcs_are_judged_by_their_creation_time(make_app, gcs_store, clock):
    app = make_app(store_override=gcs_store)
    put_object(gcs_store, "media/someone/stray")
    created = next(iter(gcs_store.list_objects("media/"))).created
    clock.set(created)
    assert_fsck_clean(app)
    clock.advance(seconds=LEASE + 1)
    code, report = run_fsck(app, "--repair")
    assert code == 0 and "deleted orphan object media/someone/stray" in report["repaired"]
    assert list(gcs_store.list_objects("media/")) == []
