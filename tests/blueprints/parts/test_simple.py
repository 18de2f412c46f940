"""POST /api/upload/simple/: one request, one video, streamed like POST /upload."""

from __future__ import annotations

import io

import pytest

from tests.helpers import BOUNDARY, account, multipart, stored_names
from tests.media import make_video_of_size

URL = "/api/upload/simple/"
FORM = f"multipart/form-data; boundary={BOUNDARY}"


def send(client, headers, body: bytes):
    return client.post(URL, data=io.BytesIO(body), headers={**headers, "Content-Type": FORM})


@pytest.mark.parametrize("field", ["file", "video"])
def test_a_simple_upload_is_a_video_in_the_library(client, auth, field):
    data = make_video_of_size(60_000)

    answer = send(client, auth(), multipart(data, "talk.mp4", field=field))

    assert answer.status_code == 201
    assert answer.get_json() == {
        "video_url": "http://localhost/stream/video/talk.mp4",
        "filename": "talk.mp4",
        "size": 60_000,
    }
    ranged = client.get("/stream/video/talk.mp4", headers={**auth(), "Range": "bytes=0-9"})
    assert (ranged.status_code, ranged.data) == (206, data[:10])
    files = client.get("/storage-status", headers=auth()).get_json()["files"]
    assert [(f["name"], f["size"]) for f in files] == [("talk.mp4", 60_000)]


def test_a_taken_name_gets_a_suffix_instead_of_409(client, auth):
    data = make_video_of_size(5000)

    names = [
        send(client, auth(), multipart(data, "talk.mp4")).get_json()["filename"] for _ in range(3)
    ]

    assert names == ["talk.mp4", "talk (2).mp4", "talk (3).mp4"]


def test_user_id_in_the_form_is_accepted_and_ignored(client, auth, database):
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="user_id"\r\n\r\nmallory\r\n'
    ).encode()

    answer = send(client, auth(), head + multipart(make_video_of_size(5000), "a.mp4"))

    assert answer.status_code == 201
    assert stored_names(database, "alice") == ["a.mp4"]
    assert stored_names(database, "mallory") == []


def test_a_non_video_is_415_in_this_apis_shape(client, auth, database):
    answer = send(client, auth(), multipart(b"plain text, not a video" * 100, "a.mp4"))

    assert answer.status_code == 415
    assert answer.get_json() == {"detail": "Only video files are accepted"}
    assert stored_names(database, "alice") == []


def test_quota_is_checked_while_the_bytes_arrive(make_app, auth, database):
    client = make_app(DEFAULT_STORAGE_QUOTA_BYTES=20_000).test_client()

    answer = send(client, auth(), multipart(make_video_of_size(20_001), "big.mp4"))

    assert answer.status_code == 403
    assert answer.get_json() == {"detail": "Exceeds storage limit, cannot upload video..!!"}
    assert account(database, "alice")["used_bytes"] == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (f"--{BOUNDARY}--\r\n".encode(), "No file part"),
        (multipart(b"x", ""), "No selected file"),
    ],
)
def test_a_form_without_a_named_file_is_400(client, auth, body, message):
    answer = send(client, auth(), body)

    assert answer.status_code == 400
    assert answer.get_json() == {"detail": message}


def test_two_videos_in_one_form_are_refused_and_neither_is_kept(client, auth, database):
    data = make_video_of_size(5000)
    first = multipart(data, "one.mp4", field="file")
    second = multipart(data, "two.mp4", field="video")
    # One body: the first part's closing delimiter becomes the second part's opening one.
    body = first[: -len(f"--{BOUNDARY}--\r\n")] + second

    answer = send(client, auth(), body)

    assert answer.status_code == 400
    assert answer.get_json() == {"detail": "Send one video, in form field 'file' or 'video'"}
    assert stored_names(database, "alice") == []
    assert account(database, "alice")["used_bytes"] == 0
