"""The local store's one-file layout: record and bytes in one file, two fsyncs per commit in
the order that keeps a crash harmless, and objects stored in the older layout still served."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from services.core.errors import ObjectMissing, StorageUnavailable
from services.storage.objects.local import LocalObjectStore
from services.storage.objects.local_format import BLOCK, read_record
from tests.fixtures.objects import CHUNK, KEY, SIZE, md5, put, read


@pytest.fixture
def local(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "objects", KEY, chunk_bytes=CHUNK)


@pytest.fixture(scope="module")
def payload() -> bytes:
    return os.urandom(SIZE)


def files(root: Path) -> list[str]:
    """Every file under the root but the temporary directory, hidden ones included."""
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and not p.relative_to(root).as_posix().startswith(".tmp/")
    )


def write_legacy(root: Path, name: str, data: bytes, generation: str = "5") -> Path:
    """An object as the store wrote it before: a JSON record, the bytes in a hidden file."""
    record = root / name
    record.parent.mkdir(parents=True, exist_ok=True)
    fields = {
        "generation": generation,
        "content_type": "video/mp4",
        "size": len(data),
        "md5": md5(data),
        "created": 1_700_000_000.0,
    }
    record.write_text(json.dumps(fields))
    (record.parent / f".{record.name}.{generation}").write_bytes(data)
    return record


def test_a_committed_object_is_one_file_holding_its_record_then_its_bytes(local, payload):
    info = put(local, "videos/ab/one", payload, "video/webm")

    assert files(local.root) == ["videos/ab/one"]
    path = local.root / "videos/ab/one"
    with open(path, "rb") as file:
        stored = read_record(file.fileno())
    assert stored.offset is not None and stored.offset % BLOCK == 0
    assert path.read_bytes()[stored.offset :] == payload
    assert stored.fields["generation"] == info.generation
    assert (stored.fields["size"], stored.fields["md5"]) == (SIZE, md5(payload))
    assert stored.fields["content_type"] == "video/webm"


def test_a_commit_syncs_the_file_before_renaming_it_and_the_directory_after(
    local, payload, monkeypatch
):
    """Two fsyncs: bytes and record together, then the rename. Never the rename first."""
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(f"fsync {os.readlink(f'/proc/self/fd/{fd}')}")
        real_fsync(fd)

    def replace(source, target) -> None:
        events.append(f"rename {source} -> {target}")
        real_replace(source, target)

    writer = local.open_writer("videos/ab/durable", "video/mp4")
    writer.write(payload)
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    writer.commit()

    tmp = local.root / ".tmp"
    target = local.root / "videos/ab/durable"
    assert len(events) == 3, events
    assert events[0].startswith(f"fsync {tmp}/")
    assert events[1].startswith(f"rename {tmp}/") and events[1].endswith(f"-> {target}")
    assert events[2] == f"fsync {target.parent}"


def test_an_upload_that_crashed_before_its_rename_is_invisible(local, payload):
    put(local, "videos/ab/kept", payload)
    writer = local.open_writer("videos/ab/kept", "video/mp4")
    writer.write(b"new bytes")  # the process dies here: nothing commits, nothing aborts

    reopened = LocalObjectStore(local.root, KEY, chunk_bytes=CHUNK)

    assert reopened.stat("videos/ab/kept").md5 == md5(payload)
    assert b"".join(read(reopened, "videos/ab/kept", 0, SIZE - 1)) == payload
    assert [o.name for o in reopened.list_objects("videos/")] == ["videos/ab/kept"]


def test_a_long_content_type_fits_its_header(local):
    content_type = "application/x-" + "a" * 9000
    put(local, "videos/ab/long", b"bytes", content_type)

    assert local.stat("videos/ab/long").content_type == content_type
    assert b"".join(read(local, "videos/ab/long", 0, 4)) == b"bytes"


def test_a_damaged_header_is_a_storage_failure(local, payload):
    put(local, "videos/ab/torn", payload)
    path = local.root / "videos/ab/torn"
    path.write_bytes(path.read_bytes()[:100])  # cut inside the record

    with pytest.raises(StorageUnavailable):
        local.stat("videos/ab/torn")
    with pytest.raises(StorageUnavailable):
        next(local.read_range("videos/ab/torn", 0, 10))


def test_an_object_of_the_older_layout_reads_lists_and_composes(local, payload):
    write_legacy(local.root, "videos/ab/old", payload)

    info = local.stat("videos/ab/old")
    assert (info.size, info.md5, info.generation) == (SIZE, md5(payload), "5")
    assert b"".join(read(local, "videos/ab/old", 100, SIZE - 1)) == payload[100:]
    with local.read_range("videos/ab/old", 10, SIZE - 1).open() as file:
        assert file.read() == payload[10:]
    assert [(o.name, o.size) for o in local.list_objects("videos/")] == [("videos/ab/old", SIZE)]
    local.compose(["videos/ab/old", "videos/ab/old"], "videos/ab/twice", "video/mp4")
    assert b"".join(read(local, "videos/ab/twice", 0, 2 * SIZE - 1)) == payload * 2


def test_replacing_an_object_of_the_older_layout_removes_its_bytes_file(local, payload):
    write_legacy(local.root, "videos/ab/old", payload, generation="99")

    info = put(local, "videos/ab/old", b"new")

    assert files(local.root) == ["videos/ab/old"]
    assert int(info.generation) > 99
    assert b"".join(read(local, "videos/ab/old", 0, 2)) == b"new"


def test_deleting_an_object_of_the_older_layout_removes_both_files(local, payload):
    write_legacy(local.root, "videos/ab/old", payload)

    assert local.delete("videos/ab/old") is True

    assert files(local.root) == []
    with pytest.raises(ObjectMissing):
        local.stat("videos/ab/old")
