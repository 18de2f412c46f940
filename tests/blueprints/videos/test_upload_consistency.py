"""Nothing lost, nothing double-counted: races, half-way failures, disconnects."""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from pymongo.errors import AutoReconnect

from services.core.accounts import utc_day
from services.core.errors import LeaseExpired
from services.core.users import User
from tests.fixtures.failing import FailingStore, PartlyBrokenDatabase
from tests.fixtures.live import serve
from tests.helpers import account, stored_names, upload
from tests.media import make_video_of_size


def _objects_in(store) -> list:
    return [p for p in store.root.rglob("*") if p.is_file()]


def test_concurrent_uploads_never_overshoot_the_quota(make_app, auth, database, store):
    app = make_app(DEFAULT_STORAGE_QUOTA_BYTES=10_000)
    headers = auth()
    data = make_video_of_size(3000)

    def send(index: int) -> int:
        return upload(app.test_client(), headers, data, f"v{index}.mp4").status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(send, range(8)))
    assert set(codes) <= {200, 403}
    successes = codes.count(200)
    assert successes == 3
    assert account(database, "alice")["used_bytes"] == 3000 * successes
    assert len(stored_names(database, "alice")) == successes


def test_concurrent_uploads_of_one_name_store_exactly_one_file(make_app, auth, database, store):
    app = make_app()
    headers = auth()
    data = make_video_of_size(50_000)

    def send(_: int) -> int:
        return upload(app.test_client(), headers, data, "same.mp4").status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(send, range(8)))
    assert codes.count(200) == 1
    assert codes.count(409) == 7
    assert stored_names(database, "alice") == ["same.mp4"]
    assert account(database, "alice")["used_bytes"] == 50_000
    doc = database["files"].find_one({"owner": "alice"})
    # The local store keeps one visible record per object (bytes sit in a hidden file).
    records = [p for p in _objects_in(store) if not any(s.startswith(".") for s in p.parts)]
    assert [str(p.relative_to(store.root)) for p in records] == [doc["object_name"]]
    assert b"".join(store.read_range(doc["object_name"], 0, 49_999)) == data


def test_storage_failure_mid_upload_leaves_nothing(make_app, auth, database, store):
    failing = FailingStore(store)
    failing.fail_write_after = 10_000
    client = make_app(store_override=failing).test_client()
    response = upload(client, auth(), make_video_of_size(200_000), "a.mp4")
    assert response.status_code == 503
    assert response.get_json() == {"error": "Storage is temporarily unavailable"}
    assert stored_names(database, "alice") == []
    acct = account(database, "alice")
    assert acct["used_bytes"] == 0 and acct["bandwidth"]["2026-11-21"] == 0
    assert _objects_in(store) == []


def test_commit_failure_leaves_nothing(make_app, auth, database, store):
    failing = FailingStore(store)
    failing.fail_commit = True
    client = make_app(store_override=failing).test_client()
    assert upload(client, auth(), make_video_of_size(20_000), "a.mp4").status_code == 503
    assert stored_names(database, "alice") == []
    assert account(database, "alice")["used_bytes"] == 0
    assert _objects_in(store) == []


@pytest.mark.parametrize(
    "collection, method",
    [("usage", "find_one_and_update"), ("files", "find_one_and_update")],
    ids=["usage-record", "commit-point"],
)
def test_a_metadata_outage_mid_upload_is_503_and_charges_nothing(
    make_app, auth, database, store, collection, method
):
    broken = PartlyBrokenDatabase(database, collection, {method}, error=AutoReconnect)
    client = make_app(database_override=broken).test_client()
    response = upload(client, auth(), make_video_of_size(20_000), "a.mp4")
    assert response.status_code == 503
    assert response.get_json() == {"error": "Metadata store is temporarily unavailable"}
    assert stored_names(database, "alice") == []
    acct = account(database, "alice")
    assert acct["used_bytes"] == 0 and acct["holds"] == {}
    assert acct["bandwidth"]["2026-11-21"] == 0
    assert database["usage"].find_one({"uploads.filename": "a.mp4"}) is None
    assert _objects_in(store) == []


def test_client_disconnect_mid_upload_leaves_nothing(make_app, auth, database, store):
    app = make_app()
    data = make_video_of_size(3 * 1024 * 1024)
    boundary = "xyzzy"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="cut.mp4"\r\nContent-Type: video/mp4\r\n\r\n'
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    with serve(app) as base:
        port = int(base.rsplit(":", 1)[1])
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(
            (
                f"POST /upload HTTP/1.1\r\nHost: x\r\nAuthorization: {auth()['Authorization']}\r\n"
                f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                f"Content-Length: {len(head) + len(data) + len(tail)}\r\n\r\n"
            ).encode()
            + head
            + data[: 1536 * 1024]  # past the parser's first 1 MiB read: the upload is under way
        )
        deadline = time.time() + 5
        while not database["files"].find_one({"owner": "alice"}) and time.time() < deadline:
            time.sleep(0.02)
        claim = database["files"].find_one({"owner": "alice"})
        assert claim is not None and claim["state"] == "uploading"
        sock.close()
        deadline = time.time() + 10
        while database["files"].find_one({"owner": "alice"}) and time.time() < deadline:
            time.sleep(0.05)
    assert stored_names(database, "alice") == []
    assert account(database, "alice")["used_bytes"] == 0
    assert _objects_in(store) == []


def test_abandoned_upload_is_taken_over_after_its_lease(client, auth, database, clock, store):
    assert upload(client, auth(), make_video_of_size(1000), "seed.mp4").status_code == 200
    # A crashed upload of x.mp4: its claim and its hold of 5000 bytes, lease run out.
    _crashed_upload(database, clock, "alice", "crashed", 5000, filename="x.mp4")
    assert upload(client, auth(), make_video_of_size(2000), "x.mp4").status_code == 200
    acct = account(database, "alice")
    assert acct["used_bytes"] == 3000
    assert acct["bandwidth"]["2026-11-21"] == 3000
    assert acct["holds"] == {}


def _crashed_upload(
    database, clock, owner, claim_id, reserved, *, lease_left_seconds=-1, filename=None
):
    """What a process that died mid-upload leaves: a claim, and a hold on its account."""
    day = utc_day(clock())
    lease_until = clock() + timedelta(seconds=lease_left_seconds)
    database["accounts"].update_one(
        {"_id": owner},
        {
            "$inc": {"used_bytes": reserved, f"bandwidth.{day}": reserved},
            "$set": {
                f"holds.{claim_id}": {
                    "ref": f"files/{claim_id}",
                    "bytes": reserved,
                    "days": {day: reserved},
                    "lease_until": lease_until,
                }
            },
            "$setOnInsert": {"quota_bytes": 52_428_800},
        },
        upsert=True,
    )
    database["files"].insert_one(
        {
            "_id": claim_id,
            "owner": owner,
            "filename": filename or f"{claim_id}.mp4",
            "state": "uploading",
            "object_name": f"videos/{claim_id}/obj",
            "lease_until": lease_until,
            "created_at": clock(),
        }
    )


def test_next_upload_of_any_name_reclaims_an_expired_claim_and_its_object(
    client, auth, database, clock, store
):
    _crashed_upload(database, clock, "alice", "crashed", 5000)
    writer = store.open_writer("videos/crashed/obj", "video/mp4")
    writer.write(b"half an upload")
    writer.commit()

    assert upload(client, auth(), make_video_of_size(2000), "other.mp4").status_code == 200

    acct = account(database, "alice")
    assert acct["used_bytes"] == 2000
    assert acct["bandwidth"][utc_day(clock())] == 2000
    assert stored_names(database, "alice") == ["other.mp4"]
    assert database["files"].find_one({"_id": "crashed"}) is None
    assert not store.delete("videos/crashed/obj")  # already gone


def test_an_upload_still_within_its_lease_is_left_alone(client, auth, database, clock):
    _crashed_upload(database, clock, "alice", "running", 5000, lease_left_seconds=300)

    assert upload(client, auth(), make_video_of_size(2000), "other.mp4").status_code == 200

    assert account(database, "alice")["used_bytes"] == 7000
    assert database["files"].find_one({"_id": "running"})["state"] == "uploading"


def test_reclaim_uploads_command_sweeps_every_user_once(make_app, database, clock):
    runner = make_app().test_cli_runner()
    _crashed_upload(database, clock, "alice", "a1", 1000)
    _crashed_upload(database, clock, "alice", "a2", 2000)
    _crashed_upload(database, clock, "bob", "b1", 4000)
    _crashed_upload(database, clock, "bob", "b2", 8000, lease_left_seconds=300)

    first = runner.invoke(args=["reclaim-uploads"])
    again = runner.invoke(args=["reclaim-uploads"])

    assert first.exit_code == 0 and "reclaimed 3 abandoned upload(s)" in first.output
    assert "reclaimed 0 abandoned upload(s)" in again.output
    assert account(database, "alice")["used_bytes"] == 0
    assert account(database, "bob")["used_bytes"] == 8000
    assert [doc["_id"] for doc in database["files"].find()] == ["b2"]


def test_concurrent_reclaims_give_each_claim_back_once(services, database, clock):
    for index in range(20):
        _crashed_upload(database, clock, "alice", f"c{index}", 100)

    with ThreadPoolExecutor(max_workers=4) as pool:
        counts = list(pool.map(lambda _: services.videos.uploads.reclaim_abandoned(), range(4)))

    assert sum(counts) == 20
    assert account(database, "alice")["used_bytes"] == 0


def test_upload_in_progress_blocks_the_name_until_its_lease_ends(client, auth, database, clock):
    database["accounts"].insert_one(
        {"_id": "alice", "quota_bytes": 52_428_800, "used_bytes": 0, "bandwidth": {}}
    )
    database["files"].insert_one(
        {
            "_id": "busy",
            "owner": "alice",
            "filename": "x.mp4",
            "state": "uploading",
            "object_name": "videos/busy/obj",
            "lease_until": clock() + timedelta(minutes=5),
            "created_at": clock(),
        }
    )
    assert upload(client, auth(), make_video_of_size(2000), "x.mp4").status_code == 409


def _slow_upload(head: bytes, rest: bytes, on_pause):
    """Chunks of an upload whose client goes quiet after `head`, while `on_pause` happens."""
    yield head
    on_pause()
    for offset in range(0, len(rest), 1024 * 1024):
        yield rest[offset : offset + 1024 * 1024]


def test_an_upload_whose_lease_runs_out_mid_way_charges_nothing(services, database, clock):
    """A slow upload's claim expires and is reclaimed: its later blocks must not leak quota."""
    video = make_video_of_size(20 * 1024 * 1024)
    block = 8 * 1024 * 1024  # the first block is reserved before the pause
    uploads = services.videos.uploads

    def lease_runs_out_and_is_reclaimed():
        clock.advance(seconds=3601)
        assert uploads.reclaim_abandoned() == 1

    chunks = _slow_upload(video[: block + 1], video[block + 1 :], lease_runs_out_and_is_reclaimed)
    with pytest.raises(LeaseExpired):
        uploads.upload(User("alice", "alice"), "slow.mp4", chunks)

    acct = account(database, "alice")
    assert acct["used_bytes"] == 0 and acct["holds"] == {}
    assert all(n == 0 for n in acct["bandwidth"].values())
    assert stored_names(database, "alice") == []
    # And the name is free again, for an upload that is not slow.
    receipt = uploads.upload(User("alice", "alice"), "slow.mp4", [make_video_of_size(5000)])
    assert receipt.size == 5000
    assert account(database, "alice")["used_bytes"] == 5000
