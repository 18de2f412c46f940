"""The local backend beyond the contract: signed URLs, hostile names, restarts."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest

from app.wiring import utc_now
from app.wiring.storage import local_store
from services.core.errors import Forbidden, ObjectMissing, StorageUnavailable
from services.storage.objects.base import SignedGrant
from services.storage.objects.local import LocalObjectStore
from tests.fixtures.objects import CHUNK, KEY, SIZE, put, read

pytest_plugins = ["tests.fixtures.gcs"]


class SettableClock:
    """A time.time stand-in that tests move by hand."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def payload() -> bytes:
    return os.urandom(SIZE)


# --- local -------------------------------------------------------------------------------


@pytest.fixture
def wall() -> SettableClock:
    return SettableClock()


@pytest.fixture
def local(tmp_path: Path, wall: SettableClock) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "store" / "objects", KEY, chunk_bytes=CHUNK, clock=wall)


def signed_parts(url: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(url)
    assert parts.path.startswith("/signed/") and not parts.netloc
    return unquote(parts.path.removeprefix("/signed/")), dict(parse_qsl(parts.query))


def test_local_signed_url_verifies_its_own_parts(local):
    name, query = signed_parts(local.signed_url("videos/ab/c d", 60, download_name="My clip.mp4"))

    assert name == "videos/ab/c d" and query["filename"] == "My clip.mp4"
    grant = local.verify_signed(name, "GET", query)
    assert grant == SignedGrant("GET", download_name="My clip.mp4")


def flip_first_hex_digit(signature: str) -> str:
    return ("0" if signature[0] != "0" else "1") + signature[1:]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda p: {**p, "name": "videos/ab/other"},
        lambda p: {**p, "expires": str(int(p["expires"]) + 1)},
        lambda p: {**p, "expires": "+" + p["expires"]},
        lambda p: {**p, "expires": "soon"},
        lambda p: {**p, "signature": flip_first_hex_digit(p["signature"])},
        lambda p: {**p, "signature": "é" * 64},
        lambda p: {**p, "filename": "other.mp4"},
        lambda p: {k: v for k, v in p.items() if k != "filename"},
    ],
    ids=["name", "expires", "expires-sign", "expires-text", "signature", "non-ascii", "filename",
         "filename-dropped"],
)  # fmt: skip
def test_local_signed_url_refuses_tampering(local, tamper):
    name, query = signed_parts(local.signed_url("videos/ab/c", 60, download_name="clip.mp4"))
    parts = tamper({"name": name, **query})

    name = parts.pop("name")

    with pytest.raises(Forbidden):
        local.verify_signed(name, "GET", parts)


def test_local_signed_url_without_filename_refuses_one_added(local):
    name, query = signed_parts(local.signed_url("videos/ab/c", 60))
    local.verify_signed(name, "GET", query)
    with pytest.raises(Forbidden):
        local.verify_signed(name, "GET", {**query, "filename": "evil.html"})


def test_local_signed_upload_url_grants_a_put_with_its_conditions(local, wall):
    upload = local.signed_upload_url("videos/ab/c d", 60, content_type="video/mp4", max_bytes=5)

    name, query = signed_parts(upload.url)
    assert name == "videos/ab/c d" and query["method"] == "PUT"
    assert upload.headers == {"Content-Type": "video/mp4"}
    assert upload.expires_at == datetime.fromtimestamp(wall.now + 60, UTC)
    grant = local.verify_signed(name, "PUT", query)
    assert grant == SignedGrant("PUT", max_bytes=5, content_type="video/mp4")


@pytest.mark.parametrize(
    "tamper",
    [
        lambda p: {**p, "max": "6"},
        lambda p: {k: v for k, v in p.items() if k != "max"},
        lambda p: {**p, "type": "text/html"},
        lambda p: {k: v for k, v in p.items() if k != "type"},
        lambda p: {**p, "max": "-5"},
        lambda p: {**p, "expires": str(int(p["expires"]) + 1)},
        lambda p: {**p, "signature": flip_first_hex_digit(p["signature"])},
    ],
    ids=["max", "max-dropped", "type", "type-dropped", "max-negative", "expires", "signature"],
)
def test_local_signed_upload_url_refuses_tampering(local, tamper):
    upload = local.signed_upload_url("videos/ab/c", 60, content_type="video/mp4", max_bytes=5)
    name, query = signed_parts(upload.url)

    with pytest.raises(Forbidden):
        local.verify_signed(name, "PUT", tamper(query))


def test_local_signed_urls_grant_only_their_own_method(local):
    get_name, get_query = signed_parts(local.signed_url("videos/ab/c", 60))
    put_name, put_query = signed_parts(local.signed_upload_url("videos/ab/c", 60).url)

    for method in ("PUT", "DELETE"):
        with pytest.raises(Forbidden):
            local.verify_signed(get_name, method, get_query)
    with pytest.raises(Forbidden):  # claiming the other method breaks the signature
        local.verify_signed(get_name, "PUT", {**get_query, "method": "PUT"})
    with pytest.raises(Forbidden):
        local.verify_signed(put_name, "GET", put_query)
    with pytest.raises(Forbidden):
        local.verify_signed(put_name, "GET", {k: v for k, v in put_query.items() if k != "method"})


def test_local_signed_upload_url_expires(local, wall):
    name, query = signed_parts(local.signed_upload_url("videos/ab/c", 60).url)
    wall.now += 60
    local.verify_signed(name, "PUT", query)
    wall.now += 1
    with pytest.raises(Forbidden):
        local.verify_signed(name, "PUT", query)


def test_local_signed_upload_url_refuses_a_negative_limit(local):
    with pytest.raises(ValueError):
        local.signed_upload_url("videos/ab/c", 60, max_bytes=-1)
    with pytest.raises(ValueError):
        local.signed_upload_url("videos/ab/c", 0)


def test_local_object_recorded_without_md5_has_none(local, payload):
    """Records written before the store kept an MD5 still describe their object."""
    record = local.root / "videos/ab/old"
    record.parent.mkdir(parents=True)
    fields = {"generation": "7", "content_type": "video/mp4", "size": SIZE}
    record.write_text(json.dumps(fields))  # the layout of that time: record, then data
    (record.parent / ".old.7").write_bytes(payload)

    info = local.stat("videos/ab/old")

    assert info.md5 is None and info.size == SIZE
    assert b"".join(read(local, "videos/ab/old", 0, SIZE - 1)) == payload
    copy = local.compose(["videos/ab/old"], "videos/ab/copy", "video/mp4")
    assert (copy.size, copy.md5) == (SIZE, None)
    assert b"".join(read(local, "videos/ab/copy", 0, SIZE - 1)) == payload


def test_local_signed_url_expires(local, wall):
    name, query = signed_parts(local.signed_url("videos/ab/c", 60))
    wall.now += 60
    local.verify_signed(name, "GET", query)
    wall.now += 1
    with pytest.raises(Forbidden):
        local.verify_signed(name, "GET", query)


HOSTILE = ["../x", "videos/../../x", "/abs", "a\\b", "", "a//b", "a/", "a\0b", "./a", ".tmp/x"]


@pytest.mark.parametrize("name", HOSTILE)
def test_local_refuses_names_that_could_leave_the_root(local, tmp_path, name):
    calls = [
        lambda: local.open_writer(name, "text/plain"),
        lambda: local.stat(name),
        lambda: local.read_range(name, 0, 1),
        lambda: local.delete(name),
        lambda: local.signed_url(name, 60),
        lambda: local.signed_upload_url(name, 60),
        lambda: local.compose(["videos/ab/c"], name, "text/plain"),
        lambda: local.compose([name], "videos/ab/c", "text/plain"),
    ]
    for call in calls:
        with pytest.raises(ValueError):
            call()
    assert [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")] == [
        "store",
        "store/objects",
    ]


def test_local_object_survives_a_restart(local, payload, tmp_path):
    info = put(local, "videos/ab/kept", payload, "video/quicktime")

    reopened = LocalObjectStore(local.root, KEY, chunk_bytes=CHUNK)

    assert reopened.stat("videos/ab/kept") == info
    assert b"".join(read(reopened, "videos/ab/kept", 0, SIZE - 1)) == payload


def test_local_reader_keeps_its_generation_through_a_rewrite(local, payload):
    put(local, "videos/ab/busy", payload)
    chunks = local.read_range("videos/ab/busy", 0, SIZE - 1)
    first = next(chunks)

    put(local, "videos/ab/busy", b"new")

    assert first + b"".join(chunks) == payload
    assert b"".join(read(local, "videos/ab/busy", 0, 2)) == b"new"


def test_local_range_opens_as_a_file_at_its_start_for_sendfile(local, payload):
    put(local, "videos/ab/file", payload)
    byte_range = local.read_range("videos/ab/file", 1000, SIZE - 1)
    assert byte_range.length == SIZE - 1000

    with byte_range.open() as file:  # at the range's start, the object ending with the file
        assert file.read() == payload[1000:]
    assert list(byte_range) == []  # handed over: iterating it sends nothing twice


def test_local_range_closes_its_file_once_iterated(local, payload):
    put(local, "videos/ab/file", payload)
    byte_range = local.read_range("videos/ab/file", 0, SIZE - 1)
    first = next(byte_range)
    opened = byte_range._file

    assert first + b"".join(byte_range) == payload
    assert opened.closed


def test_local_range_of_a_missing_object_fails_when_opened(local):
    byte_range = local.read_range("videos/ab/none", 0, 10)
    with pytest.raises(ObjectMissing):
        byte_range.open()
    with pytest.raises(ObjectMissing):
        next(byte_range)


def test_local_ping_refuses_a_root_it_cannot_create(tmp_path):
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(StorageUnavailable):
        LocalObjectStore(tmp_path / "file" / "objects", KEY).ping()


def test_local_store_wiring_uses_data_dir(tmp_path):
    store = local_store({"DATA_DIR": str(tmp_path)}, signing_key=KEY, clock=utc_now)
    store.ping()
    assert store.root == tmp_path / "objects"


def test_local_refuses_a_link_planted_inside_the_root_that_leads_out(local, tmp_path, payload):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    put(local, "videos/ab/kept", payload)
    (local.root / "videos" / "cd").symlink_to(outside, target_is_directory=True)
    (local.root / "videos" / "ab" / "link").symlink_to(local.root / "videos/ab/kept")

    with pytest.raises(ValueError):
        local.open_writer("videos/cd/x", "text/plain")
    with pytest.raises(ValueError):
        local.stat("videos/cd/x")
    assert local.stat("videos/ab/link").size == SIZE  # a link that stays inside is followed
    assert list(outside.iterdir()) == []
