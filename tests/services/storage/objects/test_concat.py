"""One-pass concatenation: the kernel copies, a helper thread hashes the same bytes."""

from __future__ import annotations

import errno
import hashlib
import os

import pytest

from services.storage.objects import concat
from services.storage.objects.concat import LAG_FILES, READ_BYTES, concatenate


def write_sources(tmp_path, sizes: list[int]) -> list:
    paths = []
    for index, size in enumerate(sizes):
        path = tmp_path / f"source-{index}"
        path.write_bytes(os.urandom(size))
        paths.append(path)
    return paths


def openers(paths):
    return [lambda path=path: open(path, "rb") for path in paths]  # noqa: SIM115


def test_concatenate_copies_in_order_and_hashes_what_it_wrote(tmp_path):
    sizes = [0, 1, READ_BYTES + 7, 3, 2 * READ_BYTES] + [11] * (2 * LAG_FILES)
    paths = write_sources(tmp_path, sizes)
    expected = b"".join(path.read_bytes() for path in paths)

    size, md5 = concatenate(openers(paths), tmp_path / "joined")

    assert (tmp_path / "joined").read_bytes() == expected
    assert (size, md5) == (len(expected), hashlib.md5(expected).hexdigest())


def test_concatenate_copies_by_reads_where_the_kernel_will_not(tmp_path, monkeypatch):
    def refuse(*_args, **_kwargs):
        raise OSError(errno.EXDEV, "cross-device")

    monkeypatch.setattr(concat.os, "copy_file_range", refuse)
    paths = write_sources(tmp_path, [READ_BYTES + 5, 17])
    expected = b"".join(path.read_bytes() for path in paths)

    size, md5 = concatenate(openers(paths), tmp_path / "joined")

    assert (tmp_path / "joined").read_bytes() == expected
    assert md5 == hashlib.md5(expected).hexdigest()


def test_a_source_that_cannot_be_opened_fails_and_leaves_no_descriptor_open(tmp_path):
    paths = write_sources(tmp_path, [100] * (LAG_FILES + 3))
    before = len(os.listdir("/proc/self/fd"))
    broken = [*openers(paths[:-1]), *openers([tmp_path / "missing"])]

    with pytest.raises(FileNotFoundError):
        concatenate(broken, tmp_path / "joined")

    assert len(os.listdir("/proc/self/fd")) == before


def test_the_target_must_be_new(tmp_path):
    paths = write_sources(tmp_path, [10])
    (tmp_path / "joined").write_bytes(b"taken")

    with pytest.raises(FileExistsError):
        concatenate(openers(paths), tmp_path / "joined")
    assert (tmp_path / "joined").read_bytes() == b"taken"
