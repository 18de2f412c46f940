"""Ingest: sniffed type, size limit while streaming, a reservation before each block."""

from __future__ import annotations

import hashlib

import pytest

from services.core.errors import (
    PayloadTooLarge,
    QuotaExceeded,
    StorageUnavailable,
    UnsupportedMediaType,
)
from services.core.ingest import Accept, Ingest
from services.core.sniff import sniff_image, sniff_video
from tests.fixtures.failing import FailingStore
from tests.media import make_image, make_video_of_size

VIDEO = Accept(sniff_video, 64 * 1024, unsupported="videos only", too_large="too big")


def chunked(data: bytes, size: int = 4096):
    return (data[i : i + size] for i in range(0, len(data), size))


def stored_files(store) -> list:
    """Committed objects: one visible file each (writes in progress are hidden files)."""
    return [
        p
        for p in store.root.rglob("*")
        if p.is_file() and not any(s.startswith(".") for s in p.parts)
    ]


class CountingStore:
    """A real store that counts the bytes its writers have been given."""

    def __init__(self, store) -> None:
        self.store, self.written = store, 0

    def __getattr__(self, name: str):
        return getattr(self.store, name)  # reads and deletes go to the real store

    def open_writer(self, name: str, content_type: str):
        writer = self.store.open_writer(name, content_type)
        outer = self

        class Counting:
            def write(self, chunk) -> None:
                outer.written += len(chunk)
                writer.write(chunk)

            def commit(self):
                return writer.commit()

            def abort(self) -> None:
                writer.abort()

        return Counting()


@pytest.mark.parametrize("backend", ["store", "gcs_store"], ids=["local", "gcs"])
def test_the_object_is_named_by_its_sniffed_type_and_committed(request, backend):
    store = request.getfixturevalue(backend)
    png = make_image("png")
    info = Ingest(store).store_upload(
        chunked(png), Accept(sniff_image, 10**6), lambda kind: f"shots/a.{kind.split('/')[1]}"
    )
    assert (info.name, info.content_type, info.size) == ("shots/a.png", "image/png", len(png))
    assert info.md5 == hashlib.md5(png).hexdigest()  # computed in the same pass as the write
    assert b"".join(store.read_range("shots/a.png", 0, len(png) - 1)) == png


@pytest.mark.parametrize("data", [b"", b"plain text, not a video" * 100], ids=["empty", "text"])
def test_content_of_another_type_is_refused_before_anything_is_stored(store, data):
    with pytest.raises(UnsupportedMediaType, match="videos only"):
        Ingest(store).store_upload(chunked(data), VIDEO, lambda _: "v/x")
    assert stored_files(store) == []


def test_exactly_the_limit_is_accepted_and_one_byte_more_is_refused(store):
    ingest = Ingest(store, block_bytes=16 * 1024)
    limit = VIDEO.max_bytes
    info = ingest.store_upload(chunked(make_video_of_size(limit)), VIDEO, lambda _: "v/a")
    assert info.size == limit
    reserved: list[int] = []
    with pytest.raises(PayloadTooLarge, match="too big"):
        ingest.store_upload(
            chunked(make_video_of_size(limit + 1)), VIDEO, lambda _: "v/b", reserved.append
        )
    assert sum(reserved) <= limit  # never reserved (nor written) past the limit
    assert [p.name for p in stored_files(store)] == ["a"]


def test_each_block_is_reserved_before_it_is_written(store):
    counting = CountingStore(store)
    reserved: list[int] = []

    def reserve(nbytes: int) -> None:
        assert counting.written == sum(reserved)  # nothing written beyond what was reserved
        reserved.append(nbytes)

    size = 300_000
    accept = Accept(sniff_video, 10**6)
    info = Ingest(counting, block_bytes=50_000).store_upload(
        chunked(make_video_of_size(size)), accept, lambda _: "v/c", reserve
    )
    assert info.size == size == sum(reserved) == counting.written
    assert len(reserved) > 3 and all(n >= 50_000 for n in reserved[:-1])


def test_a_refused_reservation_aborts_the_object(store):
    calls: list[int] = []

    def refuse_the_second_block(nbytes: int) -> None:
        calls.append(nbytes)
        if len(calls) == 2:
            raise QuotaExceeded()

    with pytest.raises(QuotaExceeded):
        Ingest(store, block_bytes=50_000).store_upload(
            chunked(make_video_of_size(300_000)),
            Accept(sniff_video, 10**6),
            lambda _: "v/d",
            refuse_the_second_block,
        )
    assert stored_files(store) == []


@pytest.mark.parametrize("where", ["write", "commit"])
def test_a_storage_failure_leaves_nothing(store, where):
    failing = FailingStore(store)
    if where == "write":
        failing.fail_write_after = 20_000
    else:
        failing.fail_commit = True
    with pytest.raises(StorageUnavailable):
        Ingest(failing).store_upload(chunked(make_video_of_size(35_000)), VIDEO, lambda _: "v/e")
    assert stored_files(store) == []
