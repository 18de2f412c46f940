"""/signed/: the embedded store's signed URLs, GET to read and PUT to write."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from services.core.errors import ObjectMissing
from tests.fixtures.live import serve
from tests.helpers import upload
from tests.media import make_video_of_size


def test_signed_url_streams_without_a_token(app, auth):
    data = make_video_of_size(200_000)
    with serve(app) as base:
        headers = auth()
        with app.test_client() as client:
            assert upload(client, headers, data, "clip.mp4").status_code == 200
        answer = requests.get(f"{base}/stream/direct/clip.mp4", headers=headers, timeout=10)
        assert answer.status_code == 200
        url = answer.json()["url"]
        assert url.startswith(base + "/signed/")
        full = requests.get(url, timeout=10)
        assert full.status_code == 200 and full.content == data
        part = requests.get(url, headers={"Range": "bytes=100-199"}, timeout=10)
        assert part.status_code == 206 and part.content == data[100:200]
        assert part.headers["Content-Range"] == "bytes 100-199/200000"


def test_tampered_or_expired_signed_url_is_refused(client, auth, clock):
    upload(client, auth(), make_video_of_size(5000), "clip.mp4")
    url = client.get("/stream/direct/clip.mp4", headers=auth()).get_json()["url"]
    parts = urlsplit(url)
    path_and_query = f"{parts.path}?{parts.query}"
    assert client.get(path_and_query).status_code == 200
    tampered = path_and_query.replace("signature=", "signature=0")
    response = client.get(tampered)
    assert response.status_code == 403
    assert response.get_json() == {"error": "Invalid or expired signature"}
    other_object = path_and_query.replace("/signed/videos/", "/signed/videos/x")
    assert client.get(other_object).status_code == 403
    clock.advance(seconds=901)
    assert client.get(path_and_query).status_code == 403


# --- PUT: signed upload URLs of the embedded store ---------------------------------------

MIB = 1024 * 1024


class GeneratedBody(io.RawIOBase):
    """A request body of `size` bytes made on demand, as a slow client would send it.

    It remembers how many bytes were read, and at each read how many bytes the store's
    temporary files already held: a server that buffered the whole body before storing
    any of it would show none until the last read.
    """

    def __init__(self, size: int, store_root: Path) -> None:
        self.size = size
        self.consumed = 0
        self.stored_while_reading: list[int] = []
        self._tmp = store_root / ".tmp"

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True  # only so the test client can measure it; the app never seeks

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.consumed = offset if whence == io.SEEK_SET else self.size + offset
        return self.consumed

    def tell(self) -> int:
        return self.consumed

    def readinto(self, buffer) -> int:
        self.stored_while_reading.append(sum(p.stat().st_size for p in self._tmp.glob("*")))
        count = min(len(buffer), self.size - self.consumed)
        buffer[:count] = pattern(self.consumed, count)
        self.consumed += count
        return count


def pattern(offset: int, count: int) -> bytes:
    """Bytes offset..offset+count of an endless, position-dependent pattern."""
    block = bytes(range(251))  # a prime length: no chunk boundary lines up with it
    start = offset % len(block)
    repeated = block * (count // len(block) + 2)
    return repeated[start : start + count]


def put_streamed(client, url: str, body: GeneratedBody, *, chunked: bool = True):
    """PUT the body as a chunked request (no length announced), or with its Content-Length."""
    if not chunked:
        return client.put(url, input_stream=body)
    # What a server that decodes chunked bodies (gunicorn, werkzeug's) hands the app.
    return client.put(
        url,
        input_stream=body,
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )


def test_signed_put_stores_the_body_and_answers_its_quoted_md5(client, store):
    data = make_video_of_size(300_000)
    upload = store.signed_upload_url("videos/ab/put", 60, content_type="video/mp4")

    response = client.put(upload.url, data=data, headers=upload.headers)

    assert response.status_code == 200
    assert response.headers["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert response.headers["Access-Control-Expose-Headers"] == "ETag"
    info = store.stat("videos/ab/put")
    assert (info.size, info.content_type) == (300_000, "video/mp4")
    assert client.get(store.signed_url("videos/ab/put", 60)).data == data


def test_signed_put_streams_the_body_into_storage_as_it_arrives(client, store):
    body = GeneratedBody(24 * MIB, store.root)
    upload = store.signed_upload_url("videos/ab/large", 60)

    response = put_streamed(client, upload.url, body)

    assert response.status_code == 200
    assert body.consumed == 24 * MIB
    # Bytes reached storage long before the body was read to its end.
    assert max(body.stored_while_reading) >= 4 * MIB
    expected = hashlib.md5(pattern(0, 24 * MIB)).hexdigest()
    assert response.headers["ETag"] == f'"{expected}"'
    assert store.stat("videos/ab/large").md5 == expected


def test_signed_put_over_the_limit_is_413_while_streaming_and_stores_nothing(client, store):
    body = GeneratedBody(16 * MIB, store.root)
    upload = store.signed_upload_url("videos/ab/big", 60, max_bytes=100_000)

    response = put_streamed(client, upload.url, body)

    assert response.status_code == 413
    assert response.get_json() == {"error": "Upload exceeds the maximum allowed size"}
    assert 100_000 < body.consumed <= 100_000 + MIB  # refused one read past the limit
    with pytest.raises(ObjectMissing):
        store.stat("videos/ab/big")
    assert list((store.root / ".tmp").iterdir()) == []


def test_signed_put_declaring_a_length_over_the_limit_is_413_unread(client, store):
    body = GeneratedBody(200_000, store.root)
    upload = store.signed_upload_url("videos/ab/big", 60, max_bytes=100_000)

    response = put_streamed(client, upload.url, body, chunked=False)

    assert response.status_code == 413
    assert body.consumed == 0
    with pytest.raises(ObjectMissing):
        store.stat("videos/ab/big")


def test_signed_put_at_the_limit_is_stored(client, store):
    upload = store.signed_upload_url("videos/ab/exact", 60, max_bytes=100_000)

    response = put_streamed(client, upload.url, GeneratedBody(100_000, store.root))

    assert response.status_code == 200
    assert store.stat("videos/ab/exact").size == 100_000


def test_signed_put_keeps_the_old_object_when_refused(client, store):
    writer = store.open_writer("videos/ab/kept", "video/mp4")
    writer.write(b"old bytes")
    kept = writer.commit()
    upload = store.signed_upload_url("videos/ab/kept", 60, max_bytes=10)

    assert client.put(upload.url, data=b"x" * 11).status_code == 413
    assert store.stat("videos/ab/kept") == kept


def flip_signature(url: str) -> str:
    head, signature = url.split("signature=")
    return f"{head}signature={'1' if signature[0] == '0' else '0'}{signature[1:]}"


@pytest.mark.parametrize("case", ["tampered", "expired", "get-url", "wrong-type"])
def test_signed_put_with_a_bad_url_is_403_and_stores_nothing(client, store, clock, case):
    upload = store.signed_upload_url("videos/ab/refused", 60, content_type="video/mp4")
    url, headers = upload.url, upload.headers
    if case == "tampered":
        url = flip_signature(url)
    elif case == "expired":
        clock.advance(seconds=61)
    elif case == "get-url":
        url = store.signed_url("videos/ab/refused", 60)
    else:
        headers = {"Content-Type": "text/html"}

    response = client.put(url, data=b"payload", headers=headers)

    assert response.status_code == 403
    assert response.is_json and "error" in response.get_json()
    with pytest.raises(ObjectMissing):
        store.stat("videos/ab/refused")


def test_signed_put_url_does_not_read(client, store):
    writer = store.open_writer("videos/ab/secret", "video/mp4")
    writer.write(b"secret bytes")
    writer.commit()
    upload = store.signed_upload_url("videos/ab/secret", 60)

    response = client.get(upload.url)

    assert response.status_code == 403
    assert b"secret bytes" not in response.data


def test_signed_put_on_a_gcs_backed_service_is_404(make_app, gcs_store):
    client = make_app(store_override=gcs_store).test_client()

    response = client.put("/signed/videos/ab/x?method=PUT&expires=1&signature=0", data=b"x")

    assert response.status_code == 404
    assert response.get_json() == {"error": "Not found"}


# --- errors name no storage object -------------------------------------------------------


def test_signed_url_of_a_deleted_video_is_404_without_the_object_name(client, auth, database):
    upload(client, auth(), make_video_of_size(5000), "clip.mp4")
    object_name = database["files"].find_one({"filename": "clip.mp4"})["object_name"]
    url = client.get("/stream/direct/clip.mp4", headers=auth()).get_json()["url"]
    deleted = client.delete("/delete-file", json={"filename": "clip.mp4"}, headers=auth())
    assert deleted.status_code == 200

    response = client.get(url)

    assert response.status_code == 404
    assert response.get_json() == {"error": "File not found"}
    assert object_name not in response.get_data(as_text=True)
    assert object_name.split("/")[-1] not in response.get_data(as_text=True)


def test_storage_failure_behind_a_signed_url_is_503_without_the_object_name(client, store, caplog):
    writer = store.open_writer("videos/ab/damaged", "video/mp4")
    writer.write(b"bytes")
    writer.commit()
    url = store.signed_url("videos/ab/damaged", 60)
    (store.root / "videos/ab/damaged").write_bytes(b"not a record")  # a damaged disk

    response = client.get(url)

    assert response.status_code == 503
    assert response.get_json() == {"error": "Storage is temporarily unavailable"}
    assert "damaged" in caplog.text  # the detail goes to the log


def test_signed_put_takes_a_chunked_body_over_a_real_socket(app, store):
    upload = store.signed_upload_url("videos/ab/chunked", 60, max_bytes=3 * MIB)
    pieces = [pattern(offset, MIB) for offset in range(0, 3 * MIB, MIB)]

    with serve(app) as base:
        response = requests.put(base + upload.url, data=iter(pieces), timeout=10)

    assert response.status_code == 200
    assert response.headers["ETag"] == f'"{hashlib.md5(b"".join(pieces)).hexdigest()}"'
    assert store.stat("videos/ab/chunked").size == 3 * MIB


def test_openapi_documents_both_methods_of_signed_urls(client):
    paths = client.get("/openapi.json").get_json()["paths"]

    assert {"get", "put"} <= set(paths["/signed/{object_name}"])
    assert "413" in paths["/signed/{object_name}"]["put"]["responses"]
