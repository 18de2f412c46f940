"""POST /upload: the seed's answers, quota and bandwidth arithmetic, content checks."""

from __future__ import annotations

import io

import pytest

from blueprints._http.multipart import READ_BYTES
from tests.helpers import BOUNDARY, account, multipart, stored_names, upload
from tests.media import make_audio, make_image, make_video, make_video_of_size

QUOTA = 52_428_800
DAY = "2026-11-21"


def test_upload_stores_video_and_reports_usage(client, auth, store, database):
    data = make_video_of_size(1_048_576)
    response = upload(client, auth(), data, "clip.mp4")
    assert response.status_code == 200
    body = response.get_json()
    assert body["message"] == "File uploaded successfully"
    assert body["storage_80_alert"] is False and body["bandwidth_80_alert"] is False
    assert body["storage_percentage_used"] == 2.0
    assert body["total_bandwidth_used"] == 1_048_576
    assert body["bandwidth_total_limit"] == 104_857_600
    assert body["bandwidth_percentage_used"] == 1.0
    doc = database["files"].find_one({"owner": "alice", "filename": "clip.mp4"})
    assert doc["state"] == "stored" and doc["size"] == 1_048_576
    assert doc["content_type"] == "video/mp4"
    assert b"".join(store.read_range(doc["object_name"], 0, doc["size"] - 1)) == data
    assert account(database, "alice")["used_bytes"] == 1_048_576


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [
        ("mp4", "video/mp4"),
        ("webm", "video/webm"),
        ("mkv", "video/x-matroska"),
        ("avi", "video/x-msvideo"),
        ("mov", "video/quicktime"),
        ("ts", "video/mp2t"),
        ("ogg", "video/ogg"),
    ],
)
def test_video_type_is_judged_by_content(client, auth, database, fmt, content_type):
    response = upload(client, auth(), make_video(fmt), "misleading-name.txt")
    assert response.status_code == 200, response.get_json()
    doc = database["files"].find_one({"filename": "misleading-name.txt"})
    assert doc["content_type"] == content_type


@pytest.mark.parametrize(
    "payload",
    [
        b"just some text, not a video" * 100,
        make_image("png"),
        make_audio("ogg"),
        b"",
        b"%PDF-1.7\n" + b"0" * 5000,
    ],
    ids=["text", "png", "audio-ogg", "empty", "pdf"],
)
def test_non_video_is_refused_with_415_and_leaves_nothing(client, auth, database, store, payload):
    response = upload(client, auth(), payload, "video.mp4")
    assert response.status_code == 415
    assert response.get_json() == {"error": "Only video files are accepted"}
    assert stored_names(database, "alice") == []
    assert account(database, "alice")["used_bytes"] == 0


def test_a_form_without_a_file_part_is_400_naming_what_it_sent(client, auth):
    response = client.post(
        "/upload", data={"other": "x"}, headers=auth(), content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert response.get_json() == {"error": "Unexpected form field 'other'"}


def test_an_empty_form_is_no_file_part(client, auth):
    response = client.post(
        "/upload",
        data=b"--b--\r\n",
        headers={**auth(), "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert response.status_code == 400
    assert response.get_json() == {"error": "No file part"}


def test_body_that_is_not_multipart_is_no_file_part(client, auth):
    response = client.post("/upload", data=b"raw", headers=auth(), content_type="video/mp4")
    assert response.status_code == 400
    assert response.get_json() == {"error": "No file part"}


def test_empty_filename_is_400(client, auth):
    response = upload(client, auth(), make_video(), "")
    assert response.status_code == 400
    assert response.get_json() == {"error": "No selected file"}


def test_upload_without_token_is_401(client):
    response = upload(client, {}, make_video())
    assert response.status_code == 401
    assert response.get_json() == {"error": "Unauthorized"}


def test_same_name_for_same_user_is_409(client, auth, database):
    assert upload(client, auth(), make_video(), "a.mp4").status_code == 200
    used = account(database, "alice")["used_bytes"]
    response = upload(client, auth(), make_video(), "a.mp4")
    assert response.status_code == 409
    assert response.get_json() == {"error": "File with the same name already exists."}
    assert account(database, "alice")["used_bytes"] == used


def test_same_name_for_different_users_is_fine(client, auth):
    assert upload(client, auth("alice"), make_video(), "a.mp4").status_code == 200
    assert upload(client, auth("bob"), make_video(), "a.mp4").status_code == 200


def test_exactly_filling_the_quota_is_allowed_and_one_more_byte_is_not(client, auth, database):
    response = upload(client, auth(), make_video_of_size(QUOTA), "full.mp4")
    assert response.status_code == 200
    body = response.get_json()
    assert body["storage_percentage_used"] == 100.0 and body["storage_80_alert"] is True
    response = upload(client, auth(), make_video_of_size(1000), "more.mp4")
    assert response.status_code == 403
    assert response.get_json() == {"error": "Exceeds storage limit, cannot upload video..!!"}
    assert account(database, "alice")["used_bytes"] == QUOTA
    assert stored_names(database, "alice") == ["full.mp4"]


def test_quota_overshoot_by_one_byte_is_refused(client, auth, database):
    response = upload(client, auth(), make_video_of_size(QUOTA + 1), "big.mp4")
    assert response.status_code == 403
    assert response.get_json()["error"] == "Exceeds storage limit, cannot upload video..!!"
    assert account(database, "alice")["used_bytes"] == 0
    assert account(database, "alice")["bandwidth"].get(DAY, 0) == 0


def test_storage_alert_starts_at_80_percent(client, auth):
    just_below = QUOTA * 80 // 100 - 1
    body = upload(client, auth(), make_video_of_size(just_below), "a.mp4").get_json()
    assert body["storage_80_alert"] is False
    body = upload(client, auth(), make_video_of_size(1000), "b.mp4").get_json()
    assert body["storage_80_alert"] is True


def test_bandwidth_limit_counts_deleted_uploads_and_allows_exact_fill(make_app, auth, database):
    app = make_app(DAILY_BANDWIDTH_LIMIT_BYTES=3000, DEFAULT_STORAGE_QUOTA_BYTES=10_000)
    client = app.test_client()
    assert upload(client, auth(), make_video_of_size(2000), "a.mp4").status_code == 200
    assert (
        client.delete("/delete-file", json={"filename": "a.mp4"}, headers=auth()).status_code == 200
    )
    response = upload(client, auth(), make_video_of_size(1001), "b.mp4")
    assert response.status_code == 403
    assert response.get_json() == {
        "error": "Bandwidth limit exceeded or some internal upload error"
    }
    body = upload(client, auth(), make_video_of_size(1000), "c.mp4").get_json()
    assert body["total_bandwidth_used"] == 3000
    assert body["bandwidth_percentage_used"] == 100.0 and body["bandwidth_80_alert"] is True


def test_bandwidth_resets_on_the_next_utc_day(make_app, auth, clock):
    app = make_app(DAILY_BANDWIDTH_LIMIT_BYTES=2000, DEFAULT_STORAGE_QUOTA_BYTES=10_000)
    client = app.test_client()
    assert upload(client, auth(), make_video_of_size(2000), "a.mp4").status_code == 200
    assert upload(client, auth(), make_video_of_size(1000), "b.mp4").status_code == 403
    clock.advance(hours=12)  # 2026-11-22 00:00 UTC
    body = upload(client, auth(), make_video_of_size(1000), "b.mp4").get_json()
    assert body["total_bandwidth_used"] == 1000


def test_first_upload_of_the_day_gets_no_exemption(make_app, auth):
    client = make_app(DAILY_BANDWIDTH_LIMIT_BYTES=1000).test_client()
    response = upload(client, auth(), make_video_of_size(1001), "a.mp4")
    assert response.status_code == 403


def test_upload_over_max_upload_bytes_is_413_and_leaves_nothing(make_app, auth, database, store):
    client = make_app(MAX_UPLOAD_BYTES=100_000).test_client()
    response = upload(client, auth(), make_video_of_size(100_001), "big.mp4")
    assert response.status_code == 413
    assert response.get_json()["error"] == "Upload exceeds the maximum allowed size"
    assert stored_names(database, "alice") == []
    assert account(database, "alice")["used_bytes"] == 0
    assert upload(client, auth(), make_video_of_size(100_000), "ok.mp4").status_code == 200


def test_declared_length_far_over_the_limit_is_refused_before_reading(make_app, auth):
    client = make_app(MAX_UPLOAD_BYTES=1000).test_client()
    response = client.post(
        "/upload",
        data=io.BytesIO(b"x" * 10),
        headers={**auth(), "Content-Type": "multipart/form-data; boundary=x"},
        environ_overrides={"CONTENT_LENGTH": str(5 * 1024 * 1024)},
    )
    assert response.status_code == 413
    assert response.get_json() == {"error": "Upload exceeds the maximum allowed size"}


@pytest.mark.parametrize(
    "name",
    [
        "../etc/passwd",
        "a/b.mp4",
        "a\\b.mp4",
        "..",
        ".",
        "bad\x00.mp4",
        "tab\t.mp4",
        "x" * 256,
        "é" * 128,
    ],
)
def test_hostile_names_are_refused_and_touch_nothing(client, auth, database, tmp_path, name):
    response = upload(client, auth(), make_video(), name)
    assert response.status_code == 400
    assert response.get_json()["error"].startswith("Invalid filename")
    assert stored_names(database, "alice") == []
    assert not (tmp_path / "etc").exists()


def test_unicode_names_round_trip(client, auth):
    name = "vidéo 日本語 🎬.mp4"
    data = make_video()
    assert upload(client, auth(), data, name).status_code == 200
    files = client.get("/storage-status", headers=auth()).get_json()["files"]
    assert [f["name"] for f in files] == [name]
    response = client.get(f"/download/disk/{name}", headers=auth())
    assert response.status_code == 200 and response.data == data


def _two_files(first: bytes, second: bytes) -> bytes:
    one = multipart(first, "a.mp4")
    return one[: -len(f"--{BOUNDARY}--\r\n")] + multipart(second, "b.mp4")


@pytest.mark.parametrize("shift", [-1, 0, 1, 200])
def test_a_second_file_is_refused_wherever_the_reads_fall(client, auth, database, shift):
    # Make the first part end exactly at (and around) the parser's 1 MiB read boundary.
    head = len(multipart(b"", "a.mp4")) - len(f"\r\n--{BOUNDARY}--\r\n")
    first = make_video_of_size(READ_BYTES - head + shift)
    response = client.post(
        "/upload",
        data=_two_files(first, make_video_of_size(5000)),
        headers={**auth(), "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    assert response.status_code == 400
    assert response.get_json() == {"error": "At most 1 file in form field 'file'"}
    assert stored_names(database, "alice") == []
    assert account(database, "alice")["used_bytes"] == 0


@pytest.mark.parametrize(
    "raw_name",
    [b"a\\b.mp4", b'q"uote.mp4', b"a\r\nb.mp4", b"a\xffb.mp4", b"\xed\xa0\x80.mp4"],
    ids=["backslash", "bare-quote", "crlf", "invalid-utf8", "lone-surrogate"],
)
def test_names_the_parser_cannot_take_exactly_are_refused_not_altered(
    client, auth, database, raw_name
):
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="'.encode()
        + raw_name
        + b'"\r\nContent-Type: video/mp4\r\n\r\n'
    )
    data = head + make_video_of_size(5000) + f"\r\n--{BOUNDARY}--\r\n".encode()
    response = client.post(
        "/upload",
        data=data,
        headers={**auth(), "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    assert response.status_code == 400, response.get_json()
    assert stored_names(database, "alice") == []
