"""DirectFile: an exclusive new file written in aligned blocks past the page cache."""

from __future__ import annotations

import errno
import mmap
import os

import pytest

from services.storage.objects.direct_io import AlignedBuffers, DirectFile

BUFFER = 4 * mmap.PAGESIZE


def _accepts_o_direct(directory) -> bool:
    if not hasattr(os, "O_DIRECT"):
        return False
    probe = directory / "probe"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o644))
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            return False
        raise
    probe.unlink()
    return True


def _pieces(data: bytes, sizes=(1000, 70001, 1, 4096)) -> list[bytes]:
    """Cut `data` into pieces of awkward, repeating sizes."""
    pieces, offset, turn = [], 0, 0
    while offset < len(data):
        size = sizes[turn % len(sizes)]
        pieces.append(data[offset : offset + size])
        offset += size
        turn += 1
    return pieces


@pytest.mark.parametrize("direct", [True, False])
@pytest.mark.parametrize(
    "size",
    [0, 1, 4095, 4096, 4097, BUFFER - 1, BUFFER, BUFFER + 1, 3 * BUFFER + 123],
)
def test_every_byte_arrives_in_order_for_sizes_around_the_block_edges(tmp_path, size, direct):
    data = os.urandom(size)
    path = tmp_path / "object"
    file = DirectFile(path, BUFFER, direct=direct)
    for piece in _pieces(data):
        file.write(piece)
    file.finish()
    assert file.size == size
    assert path.read_bytes() == data


def test_full_buffers_reach_the_file_before_finish(tmp_path):
    path = tmp_path / "object"
    file = DirectFile(path, BUFFER)
    file.write(os.urandom(2 * BUFFER + 10))
    assert path.stat().st_size == 2 * BUFFER  # only the unfinished block is still held
    file.finish()
    assert path.stat().st_size == 2 * BUFFER + 10


def test_uses_o_direct_where_the_file_system_accepts_it(tmp_path):
    if not _accepts_o_direct(tmp_path):
        pytest.skip("this file system refuses O_DIRECT")
    file = DirectFile(tmp_path / "object", BUFFER)
    assert file.direct
    file.write(b"x" * (BUFFER + 1))
    file.finish()
    assert not file.direct  # the unaligned tail went through the page cache


def test_direct_false_never_asks_for_o_direct(tmp_path):
    file = DirectFile(tmp_path / "object", BUFFER, direct=False)
    assert not file.direct
    file.close()


def test_an_existing_file_is_never_overwritten(tmp_path):
    path = tmp_path / "object"
    path.write_bytes(b"keep")
    with pytest.raises(FileExistsError):
        DirectFile(path, BUFFER)
    assert path.read_bytes() == b"keep"


def test_close_is_safe_twice_and_keeps_what_was_written(tmp_path):
    path = tmp_path / "object"
    file = DirectFile(path, BUFFER)
    file.write(b"y" * BUFFER)
    file.close()
    file.close()
    assert path.read_bytes() == b"y" * BUFFER


@pytest.mark.parametrize("buffer_bytes", [0, -mmap.PAGESIZE, mmap.PAGESIZE + 1])
def test_buffer_size_must_be_whole_pages(tmp_path, buffer_bytes):
    with pytest.raises(ValueError, match="multiple"):
        DirectFile(tmp_path / "object", buffer_bytes)
    assert not (tmp_path / "object").exists()


def test_a_file_reuses_the_buffer_the_last_one_gave_back(tmp_path):
    buffers = AlignedBuffers(BUFFER, keep=1)
    first = DirectFile(tmp_path / "first", buffers=buffers)
    first.write(os.urandom(BUFFER + 999))
    used = first._buffer
    first.finish()

    second = DirectFile(tmp_path / "second", buffers=buffers)
    assert second._buffer is used  # no fresh map, no page faults to pay again
    second.write(b"short")
    second.finish()
    assert (tmp_path / "second").read_bytes() == b"short"  # nothing of the first leaks


def test_buffers_beyond_the_ones_kept_are_unmapped(tmp_path):
    buffers = AlignedBuffers(BUFFER, keep=1)
    files = [DirectFile(tmp_path / f"f{n}", buffers=buffers) for n in range(2)]
    maps = [file._buffer for file in files]
    for file in files:
        file.close()
        file.close()
    assert maps[0].closed is False and maps[1].closed is True


def test_a_head_is_written_over_the_first_bytes_before_the_sync(tmp_path):
    file = DirectFile(tmp_path / "object", BUFFER)
    file.write(bytes(BUFFER) + b"tail")
    file.finish(b"head")
    assert (tmp_path / "object").read_bytes() == b"head" + bytes(BUFFER - 4) + b"tail"


def test_a_head_longer_than_the_file_is_refused(tmp_path):
    file = DirectFile(tmp_path / "object", BUFFER)
    file.write(b"ab")
    with pytest.raises(ValueError):
        file.finish(b"abc")
    file.close()
