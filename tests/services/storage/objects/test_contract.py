"""One contract for every ObjectStore backend, run against local and GCS."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from services.core.errors import ObjectMissing
from services.storage.objects.base import ObjectStore
from services.storage.objects.local import LocalObjectStore
from tests.fixtures.gcs import (
    make_gcs_service,
)
from tests.fixtures.objects import CHUNK, KEY, SIZE, put, read

pytest_plugins = ["tests.fixtures.gcs"]


@pytest.fixture(params=["local", "gcs"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "local":
        return LocalObjectStore(tmp_path / "objects", KEY, chunk_bytes=CHUNK)
    fake_gcs = request.getfixturevalue("fake_gcs")
    return make_gcs_service(
        fake_gcs,
        request.getfixturevalue("gcs_bucket_name"),
        chunk_bytes=CHUNK,
        read_chunk_bytes=CHUNK,
    )


@pytest.fixture(scope="module")
def payload() -> bytes:
    return os.urandom(SIZE)


# --- the contract ------------------------------------------------------------------------


def test_commit_publishes_size_type_and_generation(store, payload):
    info = put(store, "videos/ab/one", payload, "video/webm")

    assert (info.size, info.content_type) == (SIZE, "video/webm")
    assert info.generation
    assert store.stat("videos/ab/one") == info


def test_nothing_is_visible_before_commit(store, payload):
    writer = store.open_writer("videos/ab/pending", "video/mp4")
    writer.write(payload[: 2 * CHUNK + 1])  # Enough for GCS to have received whole chunks.

    with pytest.raises(ObjectMissing):
        store.stat("videos/ab/pending")
    writer.write(payload[2 * CHUNK + 1 :])
    assert writer.commit().size == SIZE


def test_abort_leaves_nothing_behind(store, payload, tmp_path):
    writer = store.open_writer("videos/ab/aborted", "video/mp4")
    writer.write(payload)
    writer.abort()
    writer.abort()

    with pytest.raises(ObjectMissing):
        store.stat("videos/ab/aborted")
    if isinstance(store, LocalObjectStore):
        assert [p for p in (tmp_path / "objects").rglob("*") if p.is_file()] == []


def test_empty_object_can_be_committed(store):
    writer = store.open_writer("videos/ab/empty", "text/plain")
    assert writer.commit().size == 0
    assert store.stat("videos/ab/empty").size == 0


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (0, SIZE - 1),  # whole object
        (1000, SIZE - 1000),  # middle
        (0, 0),  # first byte
        (SIZE - 1, SIZE - 1),  # last byte
        (CHUNK - 1, CHUNK),  # across a chunk boundary
        (CHUNK, 2 * CHUNK - 1),  # exactly one aligned chunk
        (CHUNK - 1, 2 * CHUNK + 1),  # just over two chunk boundaries
    ],
)
def test_read_range_yields_exact_bytes_in_bounded_chunks(store, payload, start, end):
    put(store, "videos/ab/ranged", payload)

    chunks = read(store, "videos/ab/ranged", start, end)

    assert b"".join(chunks) == payload[start : end + 1]
    assert all(0 < len(chunk) <= CHUNK for chunk in chunks)


def test_read_range_clamps_an_end_past_the_object(store, payload):
    put(store, "videos/ab/short", payload[:10])
    assert b"".join(read(store, "videos/ab/short", 5, 1000)) == payload[5:10]


def test_read_range_past_the_end_yields_nothing(store, payload):
    put(store, "videos/ab/tiny", payload[:10])
    assert read(store, "videos/ab/tiny", 10, 20) == []


def test_missing_object_raises_object_missing(store):
    with pytest.raises(ObjectMissing):
        store.stat("videos/ab/none")
    with pytest.raises(ObjectMissing):
        read(store, "videos/ab/none", 0, 10)


def test_delete_reports_whether_the_object_existed(store, payload):
    put(store, "videos/ab/doomed", payload[:1000])

    assert store.delete("videos/ab/doomed") is True
    assert store.delete("videos/ab/doomed") is False
    assert store.delete("videos/ab/never-was") is False
    with pytest.raises(ObjectMissing):
        store.stat("videos/ab/doomed")


def test_rewrite_changes_generation_and_content(store, payload):
    first = put(store, "videos/ab/again", payload[:5000])
    second = put(store, "videos/ab/again", payload[5000:7000], "video/webm")

    assert second.generation != first.generation
    assert store.stat("videos/ab/again") == second
    assert b"".join(read(store, "videos/ab/again", 0, 1999)) == payload[5000:7000]


def test_writer_refuses_use_after_commit(store):
    writer = store.open_writer("videos/ab/done", "text/plain")
    writer.write(b"x")
    writer.commit()
    with pytest.raises(ValueError):
        writer.write(b"y")


def test_ping_succeeds_on_a_healthy_backend(store):
    store.ping()
