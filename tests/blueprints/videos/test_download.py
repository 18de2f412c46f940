"""Downloads and range streaming: status codes, headers and bytes."""

from __future__ import annotations

import pytest

from tests.helpers import upload
from tests.media import make_video, make_video_of_size

SIZE = 300_000


@pytest.fixture
def video(client, auth) -> bytes:
    data = make_video_of_size(SIZE)
    assert upload(client, auth(), data, "clip.mp4").status_code == 200
    return data


def test_download_sends_an_attachment_with_the_bytes(client, auth, video):
    response = client.get("/download/disk/clip.mp4", headers=auth())
    assert response.status_code == 200
    assert response.data == video
    assert response.headers["Content-Disposition"] == 'attachment; filename="clip.mp4"'
    assert response.headers["Content-Length"] == str(SIZE)
    assert response.headers["Content-Type"] == "video/mp4"


def test_download_of_non_ascii_name_uses_rfc6266(client, auth):
    upload(client, auth(), make_video_of_size(5000), "été vidéo.mp4")
    response = client.get("/download/disk/été vidéo.mp4", headers=auth())
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"ete video.mp4\"; filename*=UTF-8''%C3%A9t%C3%A9%20vid%C3%A9o.mp4"
    )


def test_stream_without_range_is_200_with_validators(client, auth, video):
    response = client.get("/stream/video/clip.mp4", headers=auth())
    assert response.status_code == 200
    assert response.data == video
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["ETag"].startswith('"')
    assert "Content-Disposition" not in response.headers


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=1000-1999", 1000, 1999),
        (f"bytes=0-{SIZE + 50}", 0, SIZE - 1),
        ("bytes=-500", SIZE - 500, SIZE - 1),
        (f"bytes=-{SIZE * 2}", 0, SIZE - 1),
        ("bytes=299000-", 299000, SIZE - 1),
        (f"bytes={SIZE - 1}-{SIZE - 1}", SIZE - 1, SIZE - 1),
    ],
)
def test_single_ranges_are_206_with_content_range(client, auth, video, header, start, end):
    response = client.get("/stream/video/clip.mp4", headers={**auth(), "Range": header})
    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes {start}-{end}/{SIZE}"
    assert response.headers["Content-Length"] == str(end - start + 1)
    assert response.data == video[start : end + 1]


@pytest.mark.parametrize("header", [f"bytes={SIZE}-", f"bytes={SIZE + 10}-{SIZE + 20}", "bytes=-0"])
def test_unsatisfiable_range_is_416(client, auth, video, header):
    response = client.get("/stream/video/clip.mp4", headers={**auth(), "Range": header})
    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{SIZE}"
    assert response.get_json() == {"error": "Requested range not satisfiable"}


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "items=0-5", "bytes=abc", "bytes=9-3"])
def test_unusable_range_headers_get_the_whole_video(client, auth, video, header):
    response = client.get("/stream/video/clip.mp4", headers={**auth(), "Range": header})
    assert response.status_code == 200
    assert response.data == video


@pytest.mark.parametrize(
    ("header", "status"),
    [
        (f"bytes={'9' * 4301}-", 416),
        (f"bytes=0-{'9' * 4301}", 206),
        (f"bytes=-{'9' * 4301}", 206),
        (f"bytes={'9' * 4301}-{'1' * 4301}", 416),
    ],
)
@pytest.mark.parametrize("path", ["/download/disk/clip.mp4", "/stream/video/clip.mp4"])
def test_range_numbers_of_thousands_of_digits_never_crash(
    client, auth, video, path, header, status
):
    response = client.get(path, headers={**auth(), "Range": header})
    assert response.status_code == status
    if status == 206:
        assert response.headers["Content-Range"].endswith(f"/{SIZE}")


def test_open_ended_ranges_come_back_in_bounded_slices(make_app, auth):
    client = make_app(STREAM_SLICE_BYTES=65_536).test_client()
    data = make_video_of_size(SIZE)
    upload(client, auth(), data, "clip.mp4")
    response = client.get("/stream/video/clip.mp4", headers={**auth(), "Range": "bytes=0-"})
    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes 0-65535/{SIZE}"
    assert response.data == data[:65_536]
    # A player continues where the slice ended; an explicit range is served as asked.
    response = client.get("/stream/video/clip.mp4", headers={**auth(), "Range": "bytes=0-99999"})
    assert response.headers["Content-Range"] == f"bytes 0-99999/{SIZE}"


@pytest.mark.parametrize("start", [0, 1000])
def test_download_serves_an_open_ended_range_whole(make_app, auth, start):
    client = make_app(STREAM_SLICE_BYTES=65_536).test_client()
    data = make_video_of_size(SIZE)
    upload(client, auth(), data, "clip.mp4")
    response = client.get("/download/disk/clip.mp4", headers={**auth(), "Range": f"bytes={start}-"})
    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes {start}-{SIZE - 1}/{SIZE}"
    assert response.headers["Content-Length"] == str(SIZE - start)
    assert response.data == data[start:]


def test_bodies_over_the_length_limit_are_sent_without_content_length(make_app, auth):
    client = make_app(RESPONSE_LENGTH_LIMIT_BYTES=100_000).test_client()
    data = make_video_of_size(SIZE)
    upload(client, auth(), data, "clip.mp4")
    response = client.get("/download/disk/clip.mp4", headers=auth())
    assert response.status_code == 200
    assert "Content-Length" not in response.headers
    assert response.data == data
    head = client.head("/stream/video/clip.mp4", headers=auth())
    assert "Content-Length" not in head.headers


def test_head_gives_headers_and_no_body(client, auth, video):
    response = client.head("/stream/video/clip.mp4", headers=auth())
    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(SIZE)
    assert response.data == b""
    ranged = client.head("/stream/video/clip.mp4", headers={**auth(), "Range": "bytes=0-9"})
    assert ranged.status_code == 206 and ranged.headers["Content-Length"] == "10"


def test_if_range_with_current_etag_honours_the_range(client, auth, video):
    etag = client.head("/stream/video/clip.mp4", headers=auth()).headers["ETag"]
    response = client.get(
        "/stream/video/clip.mp4", headers={**auth(), "Range": "bytes=0-9", "If-Range": etag}
    )
    assert response.status_code == 206 and response.data == video[:10]


def test_if_range_with_stale_etag_sends_the_whole_video(client, auth, video):
    response = client.get(
        "/stream/video/clip.mp4", headers={**auth(), "Range": "bytes=0-9", "If-Range": '"old"'}
    )
    assert response.status_code == 200 and response.data == video


def test_if_none_match_with_current_etag_is_304(client, auth, video):
    etag = client.head("/stream/video/clip.mp4", headers=auth()).headers["ETag"]
    response = client.get("/stream/video/clip.mp4", headers={**auth(), "If-None-Match": etag})
    assert response.status_code == 304 and response.data == b""


def test_etag_changes_when_a_name_is_reused(client, auth, video):
    first = client.head("/stream/video/clip.mp4", headers=auth()).headers["ETag"]
    client.delete("/delete-file", json={"filename": "clip.mp4"}, headers=auth())
    upload(client, auth(), make_video_of_size(SIZE), "clip.mp4")
    assert client.head("/stream/video/clip.mp4", headers=auth()).headers["ETag"] != first


@pytest.mark.parametrize(
    "path", ["/download/disk/clip.mp4", "/stream/video/clip.mp4", "/stream/direct/clip.mp4"]
)
def test_another_users_file_is_404_everywhere(client, auth, video, path):
    upload(client, auth("bob"), make_video_of_size(1000), "mine.mp4")
    response = client.get(path, headers=auth("bob"))
    assert response.status_code == 404
    assert response.get_json() == {"error": "File not found in user's storage"}
    delete = client.delete("/delete-file", json={"filename": "clip.mp4"}, headers=auth("bob"))
    assert delete.status_code == 404
    assert client.get(path, headers=auth()).status_code == 200


@pytest.mark.parametrize(
    "path", ["/download/disk/x.mp4", "/stream/video/x.mp4", "/stream/direct/x.mp4"]
)
def test_user_without_storage_gets_user_storage_not_found(client, auth, path):
    response = client.get(path, headers=auth("newcomer"))
    assert response.status_code == 404
    assert response.get_json() == {"error": "User storage not found"}


@pytest.mark.parametrize(
    "path", ["/download/disk/clip.mp4", "/stream/video/clip.mp4", "/stream/direct/clip.mp4"]
)
def test_reads_without_token_are_401(client, video, path):
    response = client.get(path)
    assert response.status_code == 401
    assert response.get_json() == {"error": "Unauthorized"}


def test_poster_frame_is_a_cached_jpeg_and_revalidates(client, auth):
    video = make_video("webm", seconds=3, size=(320, 240), fps=10)
    assert upload(client, auth(), video, "clip.webm").status_code == 200
    first = client.get("/stream/poster/clip.webm", headers=auth())
    assert first.status_code == 200 and first.mimetype == "image/jpeg"
    assert first.data[:3] == b"\xff\xd8\xff"
    assert first.headers["Cache-Control"] == "private, max-age=86400"
    again = client.get(
        "/stream/poster/clip.webm", headers={**auth(), "If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304
    assert client.get("/stream/poster/clip.webm", headers=auth("bob")).status_code == 404
    assert (
        client.delete("/delete-file", json={"filename": "clip.webm"}, headers=auth()).status_code
        == 200
    )
    assert client.get("/stream/poster/clip.webm", headers=auth()).status_code == 404
