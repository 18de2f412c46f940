"""Concatenation in the kernel: the bytes in order, the size, the header, the fallback by reads."""

from __future__ import annotations

import errno
import os

import pytest

from services.storage.objects import concat
from services.storage.objects.concat import READ_BYTES, Piece, concatenate


def write_sources(tmp_path, sizes: list[int]) -> list:
    paths = []
    for index, size in enumerate(sizes):
        path = tmp_path / f"source-{index}"
        path.write_bytes(os.urandom(size))
        paths.append(path)
    return paths


def openers(paths):
    """Each whole file, as a piece."""
    return [
        lambda path=path: Piece(open(path, "rb"), 0, path.stat().st_size)  # noqa: SIM115
        for path in paths
    ]


def test_concatenate_copies_every_source_in_order(tmp_path):
    paths = write_sources(tmp_path, [0, 1, READ_BYTES + 7, 3, 2 * READ_BYTES, 11])
    expected = b"".join(path.read_bytes() for path in paths)

    size = concatenate(openers(paths), tmp_path / "joined")

    assert (tmp_path / "joined").read_bytes() == expected and size == len(expected)


def test_concatenate_copies_by_reads_where_the_kernel_will_not(tmp_path, monkeypatch):
    def refuse(*_args, **_kwargs):
        raise OSError(errno.EXDEV, "cross-device")

    monkeypatch.setattr(concat.os, "copy_file_range", refuse)
    paths = write_sources(tmp_path, [READ_BYTES + 5, 17])
    expected = b"".join(path.read_bytes() for path in paths)

    assert concatenate(openers(paths), tmp_path / "joined") == len(expected)
    assert (tmp_path / "joined").read_bytes() == expected


def test_a_source_that_cannot_be_opened_fails_and_leaves_no_descriptor_open(tmp_path):
    paths = write_sources(tmp_path, [100] * 5)
    before = len(os.listdir("/proc/self/fd"))

    with pytest.raises(FileNotFoundError):
        concatenate(openers([*paths, tmp_path / "missing"]), tmp_path / "joined")

    assert len(os.listdir("/proc/self/fd")) == before


def test_the_target_must_be_new(tmp_path):
    paths = write_sources(tmp_path, [10])
    (tmp_path / "joined").write_bytes(b"taken")

    with pytest.raises(FileExistsError):
        concatenate(openers(paths), tmp_path / "joined")
    assert (tmp_path / "joined").read_bytes() == b"taken"


def test_concatenate_copies_pieces_after_a_header_written_last(tmp_path):
    paths = write_sources(tmp_path, [READ_BYTES + 9, 500])
    datas = [path.read_bytes() for path in paths]
    pieces = [
        lambda: Piece(open(paths[0], "rb"), 100, READ_BYTES - 91),  # noqa: SIM115
        lambda: Piece(open(paths[1], "rb"), 0, 500),  # noqa: SIM115
    ]

    size = concatenate(pieces, tmp_path / "joined", room=16, head=lambda n: f"{n:016d}".encode())

    expected = datas[0][100 : READ_BYTES + 9] + datas[1]
    assert size == len(expected)
    assert (tmp_path / "joined").read_bytes() == f"{size:016d}".encode() + expected
