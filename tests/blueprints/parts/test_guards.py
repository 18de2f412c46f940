"""What the part upload API refuses: bad input (400), other users (404), wrong states (409)."""

from __future__ import annotations

import pytest

from services.core.errors import ObjectMissing
from tests.blueprints.parts.flow import (
    API,
    abort,
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
NOT_FOUND = {"detail": "Upload session not found"}


@pytest.fixture(scope="module")
def video() -> bytes:
    return make_video_of_size(SIZE)


@pytest.fixture
def session_id(client, auth) -> str:
    return create(client, auth(), size=SIZE).get_json()["id"]


# --- input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "filename: Missing data for required field."),
        ({"filename": "a/b.webm"}, "Invalid filename: path separators are not allowed"),
        ({"filename": ""}, "Invalid filename"),
        ({"filename": "x.webm", "size": "big"}, "size: Not a valid integer."),
        ({"filename": "x.webm", "size": 0}, "size: Must be greater than or equal to 1."),
        ({"filename": 7}, "filename: Not a valid string."),
    ],
)
def test_create_refuses_bad_fields_with_400_naming_them(client, auth, body, message):
    answer = client.post(f"{API}/create/", json=body, headers=auth())

    assert answer.status_code == 400
    assert answer.get_json() == {"detail": message}


def test_create_refuses_a_size_over_the_upload_limit_with_413(make_app, auth, database):
    client = make_app(MAX_UPLOAD_BYTES=1000).test_client()

    answer = create(client, auth(), size=1001)

    assert answer.status_code == 413 and "detail" in answer.get_json()
    assert database["upload_sessions"].count_documents({}) == 0


@pytest.mark.parametrize("number", [0, 10_001, -1, "1", 1.5, None, True, 10**30])
def test_part_numbers_outside_1_to_10000_or_not_integers_are_400(client, auth, session_id, number):
    for answer in (
        presign(client, auth(), session_id, number),
        register(client, auth(), session_id, number, md5(b"x")),
        complete(client, auth(), session_id, [{"part_number": number, "etag": md5(b"x")}]),
    ):
        assert answer.status_code == 400
        assert "part_number" in answer.get_json()["detail"]


@pytest.mark.parametrize("number", [1, 10_000])
def test_part_numbers_1_and_10000_are_taken(client, auth, session_id, number):
    assert presign(client, auth(), session_id, number).status_code == 200


def test_a_missing_part_number_is_400(client, auth, session_id):
    answer = client.post(f"{API}/{session_id}/presign/", json={}, headers=auth())

    assert answer.status_code == 400
    assert answer.get_json() == {"detail": "part_number: Missing data for required field."}


@pytest.mark.parametrize("parts", [None, [], "nope"])
def test_complete_without_a_parts_list_is_400(client, auth, session_id, parts):
    answer = complete(client, auth(), session_id, parts)

    assert answer.status_code == 400
    expected = "Parts list required" if parts != "nope" else "parts: Not a valid list."
    assert answer.get_json() == {"detail": expected}


@pytest.mark.parametrize("numbers", [[2, 1], [1, 1]])
def test_part_numbers_of_complete_must_ascend(client, auth, session_id, numbers):
    listed = [{"part_number": n, "etag": md5(b"x")} for n in numbers]

    answer = complete(client, auth(), session_id, listed)

    assert answer.status_code == 400
    assert answer.get_json() == {"detail": "Part numbers must be in ascending order"}


def test_a_wrong_etag_is_400_at_register_and_at_complete(client, auth, session_id, video):
    signed = presign(client, auth(), session_id, 1).get_json()
    put(client, signed, video[:SIZE])

    registered = register(client, auth(), session_id, 1, md5(b"something else"))
    completed = complete(client, auth(), session_id, [{"part_number": 1, "etag": md5(b"other")}])

    for answer in (registered, completed):
        assert answer.status_code == 400
        assert answer.get_json() == {"detail": "ETag of part 1 does not match the stored part"}
    assert status(client, auth(), session_id).get_json()["parts"] == []


def test_a_part_not_in_storage_is_400_at_register_and_at_complete(client, auth, session_id):
    presign(client, auth(), session_id, 2)  # a URL, but nothing was ever PUT

    registered = register(client, auth(), session_id, 2, md5(b""))
    completed = complete(client, auth(), session_id, [{"part_number": 2, "etag": md5(b"")}])

    for answer in (registered, completed):
        assert answer.status_code == 400
        assert answer.get_json() == {"detail": "Part 2 is not in storage"}


def test_parts_that_do_not_add_up_to_the_size_leave_the_session_open(
    client, auth, session_id, video
):
    pieces = split(video, PART)
    listed = [
        {"part_number": n, "etag": send_part(client, auth(), session_id, n, pieces[n - 1])}
        for n in (1, 2)
    ]

    short = complete(client, auth(), session_id, listed)

    assert short.status_code == 400
    assert short.get_json() == {
        "detail": "Parts add up to 200000 bytes, but the declared size is 300000 bytes"
    }
    assert status(client, auth(), session_id).get_json()["status"] == "uploading"
    listed.append({"part_number": 3, "etag": send_part(client, auth(), session_id, 3, pieces[2])})
    assert complete(client, auth(), session_id, listed).status_code == 200


def test_a_part_that_would_pass_the_declared_size_is_refused_at_register(
    client, auth, session_id, video, store
):
    send_part(client, auth(), session_id, 1, video[:200_000])
    # Written with the store directly: a URL for part 2 would not admit this many bytes.
    writer = store.open_writer(f"uploads/{session_id}/part-2", "application/octet-stream")
    writer.write(video[200_000:] + b"\0")
    writer.commit()

    answer = register(client, auth(), session_id, 2, md5(video[200_000:] + b"\0"))

    assert answer.status_code == 400
    assert answer.get_json() == {
        "detail": "Registered parts would add up to 300001 bytes, "
        "more than the declared size of 300000 bytes"
    }


def test_a_part_url_admits_no_more_than_what_remains_of_the_declared_size(
    client, auth, session_id, video
):
    send_part(client, auth(), session_id, 1, video[:PART])

    signed = presign(client, auth(), session_id, 2).get_json()

    assert signed["max_bytes"] == SIZE - PART
    assert put(client, signed, video[PART:] + b"\0").status_code == 413
    assert put(client, signed, video[PART:]).status_code == 200
    # Part 1 again: what part 2 would leave is not what counts, part 1's own size does.
    assert presign(client, auth(), session_id, 1).get_json()["max_bytes"] == SIZE


def test_a_part_url_admits_at_most_the_largest_part(make_app, auth):
    client = make_app(MULTIPART_MAX_PART_BYTES=1000).test_client()
    session_id = create(client, auth()).get_json()["id"]

    signed = presign(client, auth(), session_id, 1).get_json()

    assert signed["max_bytes"] == 1000
    assert put(client, signed, b"\0" * 1001).status_code == 413


def test_a_non_video_is_415_and_leaves_nothing(client, auth, database, store):
    data = bytes(range(256)) * 400
    session_id, listed = upload_in_parts(client, auth(), data, 40_000, size=len(data))

    answer = complete(client, auth(), session_id, listed)

    assert answer.status_code == 415
    assert answer.get_json() == {"detail": "Only video files are accepted"}
    assert database["files"].count_documents({}) == 0
    assert account(database, "alice")["used_bytes"] == 0
    assert account(database, "alice")["holds"] == {}
    assert status(client, auth(), session_id).get_json()["status"] == "aborted"
    for number in range(1, len(listed) + 1):
        with pytest.raises(ObjectMissing):
            store.stat(f"uploads/{session_id}/part-{number}")


# --- other users ----------------------------------------------------------------------


def test_another_users_session_is_404_on_every_path_and_stays_untouched(
    client, auth, session_id, video
):
    etag = send_part(client, auth(), session_id, 1, video[:SIZE])
    listed = [{"part_number": 1, "etag": etag}]
    bob = auth("bob")

    answers = [
        presign(client, bob, session_id, 2),
        register(client, bob, session_id, 1, etag),
        complete(client, bob, session_id, listed),
        status(client, bob, session_id),
        abort(client, bob, session_id),
    ]

    assert [a.status_code for a in answers] == [404] * 5
    assert all(a.get_json() == NOT_FOUND for a in answers)
    assert status(client, auth(), session_id).get_json()["status"] == "uploading"
    assert complete(client, auth(), session_id, listed).status_code == 200


def test_an_unknown_id_is_404_on_every_path(client, auth):
    for answer in (
        presign(client, auth(), "nope", 1),
        register(client, auth(), "nope", 1, md5(b"")),
        complete(client, auth(), "nope", [{"part_number": 1, "etag": md5(b"")}]),
        status(client, auth(), "nope"),
        abort(client, auth(), "nope"),
    ):
        assert (answer.status_code, answer.get_json()) == (404, NOT_FOUND)


# --- states --------------------------------------------------------------------------


def test_an_aborted_session_refuses_presign_register_and_complete_with_409(
    client, auth, session_id, video, store
):
    etag = send_part(client, auth(), session_id, 1, video[:PART])

    first, again = abort(client, auth(), session_id), abort(client, auth(), session_id)

    assert first.status_code == again.status_code == 200
    assert first.get_json() == again.get_json() == {"status": "aborted"}
    conflict = {"detail": "Upload session was aborted"}
    for answer in (
        presign(client, auth(), session_id, 2),
        register(client, auth(), session_id, 1, etag),
        complete(client, auth(), session_id, [{"part_number": 1, "etag": etag}]),
    ):
        assert (answer.status_code, answer.get_json()) == (409, conflict)
    assert status(client, auth(), session_id).get_json()["status"] == "aborted"
    with pytest.raises(ObjectMissing):
        store.stat(f"uploads/{session_id}/part-1")


def test_a_completed_session_cannot_be_aborted_or_changed_and_completes_the_same(
    client, auth, video, database
):
    session_id, listed = upload_in_parts(client, auth(), video, PART, size=SIZE)
    first = complete(client, auth(), session_id, listed)

    conflict = {"detail": "Upload session is already completed"}
    for answer in (
        abort(client, auth(), session_id),
        presign(client, auth(), session_id, 4),
        register(client, auth(), session_id, 1, listed[0]["etag"]),
    ):
        assert (answer.status_code, answer.get_json()) == (409, conflict)
    again = complete(client, auth(), session_id, listed)
    other_list = complete(client, auth(), session_id, listed[:1])

    assert again.status_code == other_list.status_code == 200
    assert again.get_json() == other_list.get_json() == first.get_json()
    assert database["files"].count_documents({}) == 1
    assert account(database, "alice")["used_bytes"] == SIZE
    usage = database["usage"].find_one({})
    assert (usage["upload_count"], usage["upload_volume"]) == (1, SIZE)
    state = status(client, auth(), session_id).get_json()
    assert state["status"] == "completed" and state["result"] == first.get_json()


def test_while_a_complete_runs_the_session_refuses_everything_else_with_409(
    client, auth, services, session_id, video, clock, database
):
    listed = [{"part_number": 1, "etag": send_part(client, auth(), session_id, 1, video[:SIZE])}]
    # Another instance is completing it (its lock, as complete takes it).
    assert services.parts.sessions.lock(session_id, "elsewhere", 600) is not None

    busy = {"detail": "Upload session is being completed; try again shortly"}
    for answer in (
        presign(client, auth(), session_id, 2),
        register(client, auth(), session_id, 1, listed[0]["etag"]),
        complete(client, auth(), session_id, listed),
        abort(client, auth(), session_id),
    ):
        assert (answer.status_code, answer.get_json()) == (409, busy)
    # That instance died: once its lease has run out the session is completable again.
    clock.advance(seconds=601)
    assert complete(client, auth(), session_id, listed).status_code == 200
    assert database["upload_sessions"].find_one({"_id": session_id}).get("lock") is None


def test_expiry_waits_for_a_complete_in_progress(client, auth, services, session_id, clock):
    clock.advance(hours=24, seconds=-100)
    assert services.parts.sessions.lock(session_id, "elsewhere", 600) is not None

    clock.advance(seconds=200)  # the session's 24 hours are over, the lock's lease is not
    assert services.parts.reclaim() == 0
    clock.advance(seconds=600)
    assert services.parts.reclaim() == 1


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("{not json", "application/json"),
        ("[1, 2]", "application/json"),
        ("[" * 5000 + "]" * 5000, "application/json"),
        ('{"part_number": 1}', "text/plain"),
        ("", None),
    ],
)
def test_bodies_that_are_not_the_expected_json_are_400_not_500(
    client, auth, session_id, data, content_type
):
    headers = {**auth(), **({"Content-Type": content_type} if content_type else {})}

    answer = client.post(f"{API}/{session_id}/presign/", data=data, headers=headers)

    assert answer.status_code == 400
    assert set(answer.get_json()) == {"detail"}


def test_openapi_describes_the_part_upload_api(client):
    paths = client.get("/openapi.json").get_json()["paths"]

    assert "post" in paths["/api/upload/simple/"]
    assert "post" in paths["/api/multipart/create/"]
    for action in ("presign", "register-part", "complete", "abort"):
        operation = paths[f"/api/multipart/{{upload_id}}/{action}/"]["post"]
        assert operation["security"] == [{"bearerAuth": []}]
        assert {"401", "404"} <= set(operation["responses"])
    assert "get" in paths["/api/multipart/{upload_id}/status/"]
    assert "201" in paths["/api/multipart/create/"]["post"]["responses"]


def test_openapi_states_what_a_valid_request_needs(client):
    """Found by the fuzz run: requests valid by the document were refused with 400."""
    spec = client.get("/openapi.json").get_json()
    simple = spec["paths"]["/api/upload/simple/"]["post"]["requestBody"]
    form = simple["content"]["multipart/form-data"]["schema"]
    assert form["anyOf"] == [{"required": ["file"]}, {"required": ["video"]}]
    filename = spec["components"]["schemas"]["MultipartCreateArgs"]["properties"]["filename"]
    assert filename["minLength"] == 1
