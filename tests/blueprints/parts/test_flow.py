"""The part upload API on the embedded store: create, presign, PUT, register, complete, read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.core.errors import ObjectMissing
from tests.blueprints.parts.flow import (
    complete,
    create,
    md5,
    presign,
    put,
    register,
    send_part,
    split,
    status,
    upload_in_parts,
)
from tests.helpers import account
from tests.media import make_video_of_size

SIZE = 300_000
PART = 100_000


@pytest.fixture(scope="module")
def video() -> bytes:
    return make_video_of_size(SIZE)


def test_create_answers_the_seeds_fields_with_an_unguessable_id(client, auth):
    answer = create(
        client, auth(), filename="recording.webm", content_type="video/webm", size=SIZE,
        user_id="someone-else",
    )  # fmt: skip

    assert answer.status_code == 201
    body = answer.get_json()
    assert set(body) == {
        "id", "user_id", "filename", "content_type", "size", "s3_key", "s3_upload_id",
        "bucket", "part_size", "status", "created_at", "expires_at", "parts",
    }  # fmt: skip
    assert body["user_id"] == "alice"  # the token's sub, not the body's user_id
    assert (body["filename"], body["content_type"], body["size"]) == (
        "recording.webm",
        "video/webm",
        SIZE,
    )
    assert (body["status"], body["parts"], body["bucket"]) == ("uploading", [], "local")
    assert body["part_size"] == 8 * 1024 * 1024
    assert body["s3_key"].startswith("videos/") and "recording" not in body["s3_key"]
    assert body["s3_upload_id"] == f"uploads/{body['id']}"
    assert len(body["id"]) >= 32 and body["id"] != create(client, auth()).get_json()["id"]
    created = datetime.fromisoformat(body["created_at"])
    assert (datetime.fromisoformat(body["expires_at"]) - created).total_seconds() == 24 * 3600
    assert body["created_at"].endswith("Z")


def test_a_recording_sent_in_parts_is_a_video_that_streams_and_counts(
    client, auth, video, store, database
):
    session_id, listed = upload_in_parts(client, auth(), video, PART, size=SIZE)

    answer = complete(client, auth(), session_id, listed)

    assert answer.status_code == 200
    assert answer.get_json() == {
        "file_url": "http://localhost/stream/video/recording.webm",
        "filename": "recording.webm",
        "size": SIZE,
    }
    ranged = client.get(answer.get_json()["file_url"], headers={**auth(), "Range": "bytes=10-99"})
    assert (ranged.status_code, ranged.data) == (206, video[10:100])
    assert client.get("/stream/video/recording.webm", headers=auth()).data == video
    listing = client.get("/storage-status", headers=auth()).get_json()
    assert [(f["name"], f["size"]) for f in listing["files"]] == [("recording.webm", SIZE)]
    assert listing["used_storage"] == SIZE and listing["bandwidth_used_today"] == SIZE
    signed = client.get("/stream/direct/recording.webm", headers=auth()).get_json()["url"]
    assert client.get(signed).data == video
    # The parts are gone, the hold is settled, and the video deletes like any other.
    for number in (1, 2, 3):
        with pytest.raises(ObjectMissing):
            store.stat(f"uploads/{session_id}/part-{number}")
    assert account(database, "alice")["holds"] == {}
    deleted = client.delete("/delete-file", json={"filename": "recording.webm"}, headers=auth())
    assert deleted.status_code == 200
    assert account(database, "alice")["used_bytes"] == 0


def test_a_part_put_answers_its_quoted_md5_readable_by_a_page_script(client, auth):
    session_id = create(client, auth()).get_json()["id"]
    signed = presign(client, auth(), session_id, 1).get_json()

    answer = put(client, signed, b"part one")

    assert answer.status_code == 200
    assert answer.headers["ETag"] == f'"{md5(b"part one")}"'
    assert "ETag" in answer.headers["Access-Control-Expose-Headers"]
    assert signed["method"] == "PUT" and signed["headers"] == {}
    assert signed["presigned_url"].startswith("http://localhost/signed/uploads/")
    assert signed["expires_at"].endswith("Z")


def test_status_tells_a_client_that_lost_everything_which_parts_to_send_again(client, auth, video):
    created = create(client, auth(), size=SIZE).get_json()
    session_id = created["id"]
    pieces = split(video, PART)
    send_part(client, auth(), session_id, 3, pieces[2])
    send_part(client, auth(), session_id, 1, pieces[0])
    # The connection drops; the client keeps only the id.

    state = status(client, auth(), session_id).get_json()

    assert state["status"] == "uploading" and state["bytes_uploaded"] == 2 * PART
    assert state["parts"] == [
        {"part_number": 1, "etag": md5(pieces[0]), "size": PART},
        {"part_number": 3, "etag": md5(pieces[2]), "size": PART},
    ]
    assert {k: state[k] for k in created if k != "parts"} == {
        k: v for k, v in created.items() if k != "parts"
    }
    send_part(client, auth(), session_id, 2, pieces[1])
    listed = [{"part_number": p["part_number"], "etag": p["etag"]} for p in state["parts"]]
    listed.insert(1, {"part_number": 2, "etag": md5(pieces[1])})
    assert complete(client, auth(), session_id, listed).status_code == 200
    assert client.get("/stream/video/recording.webm", headers=auth()).data == video


def test_registering_a_part_again_replaces_it(client, auth, video):
    session_id = create(client, auth()).get_json()["id"]
    send_part(client, auth(), session_id, 1, b"\0" * 1000)
    assert account_used(client, auth()) == 1000
    pieces = split(video, PART)

    send_part(client, auth(), session_id, 1, pieces[0])

    assert status(client, auth(), session_id).get_json()["parts"] == [
        {"part_number": 1, "etag": md5(pieces[0]), "size": PART}
    ]
    assert account_used(client, auth()) == PART  # the old part's bytes were given back
    for number, piece in enumerate(pieces[1:], start=2):
        send_part(client, auth(), session_id, number, piece)
    listed = [{"part_number": n, "etag": md5(p)} for n, p in enumerate(pieces, start=1)]
    assert complete(client, auth(), session_id, listed).get_json()["size"] == SIZE
    assert account_used(client, auth()) == SIZE


def test_a_taken_name_gets_a_suffix_before_the_extension(client, auth, video):
    names = []
    for _ in range(3):
        session_id, listed = upload_in_parts(client, auth(), video, PART, size=SIZE)
        names.append(complete(client, auth(), session_id, listed).get_json()["filename"])

    assert names == ["recording.webm", "recording (2).webm", "recording (3).webm"]
    answer = client.get("/stream/video/recording (3).webm", headers=auth())
    assert answer.status_code == 200 and answer.data == video


def test_an_etag_may_come_quoted_or_bare_in_any_case(client, auth):
    session_id = create(client, auth()).get_json()["id"]
    signed = presign(client, auth(), session_id, 1).get_json()
    put(client, signed, b"abc")

    for etag in (f'"{md5(b"abc")}"', md5(b"abc").upper(), f'W/"{md5(b"abc")}"'):
        assert register(client, auth(), session_id, 1, etag).status_code == 200


def account_used(client, headers) -> int:
    return client.get("/storage-status", headers=headers).get_json()["used_storage"]


@pytest.mark.parametrize(
    "moment",
    [datetime(2001, 3, 4, 5, 6, tzinfo=UTC), datetime(2099, 9, 8, 7, 6, tzinfo=UTC)],
    ids=["years-behind", "years-ahead"],
)
def test_parts_work_on_any_date_by_the_service_clock(client, auth, clock, video, moment):
    clock.set(moment)
    headers = auth(hours=30)

    session_id, listed = upload_in_parts(client, headers, video, PART, size=SIZE)

    state = status(client, headers, session_id).get_json()
    assert state["created_at"] == moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert complete(client, headers, session_id, listed).status_code == 200
    clock.advance(hours=25)  # a completed session does not expire
    assert status(client, headers, session_id).get_json()["status"] == "completed"
