"""ObjectFile: a stored object read as a file, by windows, within a budget."""

from __future__ import annotations

import contextlib
import io

import pytest

from services.core.errors import ObjectMissing
from services.storage.objects.rangefile import ObjectFile, ReadBudgetExceeded

DATA = bytes(range(256)) * 40


@pytest.fixture
def stored(store):
    writer = store.open_writer("videos/probe.bin", "application/octet-stream")
    writer.write(DATA)
    return writer.commit()


def test_reads_and_seeks_like_a_file_fetching_one_window_at_a_time(store, stored):
    file = ObjectFile(store, stored.name, stored.size, window=1000)
    assert file.read(10) == DATA[:10] and file.bytes_read == 1000
    file.seek(-5, io.SEEK_END)
    assert file.read() == DATA[-5:]
    file.seek(2000)
    assert io.BufferedReader(file, 300).read(1500) == DATA[2000:3500]
    with pytest.raises(ValueError):
        file.seek(-1)


def test_a_budget_stops_a_reader_that_asks_for_more(store, stored):
    file = ObjectFile(store, stored.name, stored.size, window=1000, budget=2500)
    assert file.read(1000) + file.read(1000) == DATA[:2000]
    with pytest.raises(ReadBudgetExceeded):
        file.read(1000)
    assert file.bytes_read == 2000


def test_a_store_error_is_kept_for_the_caller_even_if_the_reader_swallows_it(store, stored):
    file = ObjectFile(store, stored.name, stored.size)
    store.delete(stored.name)
    with contextlib.suppress(Exception):  # as a decoder would
        file.read(1)
    assert isinstance(file.failure, ObjectMissing)


class _Counting:
    """A real store, with the ranges asked of it written down."""

    def __init__(self, store):
        self.store, self.ranges = store, []

    def read_range(self, name, start, end):
        self.ranges.append((start, end))
        return self.store.read_range(name, start, end)


def test_windows_start_small_after_a_jump_and_grow_while_reading_on(store):
    data = bytes(range(256)) * (16 * 1024)  # 4 MiB
    writer = store.open_writer("videos/long.bin", "application/octet-stream")
    writer.write(data)
    info = writer.commit()
    counting = _Counting(store)
    file = ObjectFile(counting, info.name, info.size)
    assert file.read(100) == data[:100]
    file.seek(-100, io.SEEK_END)
    assert file.read() == data[-100:]
    # A header and a tail, as an MP4 probe reads them: two small windows.
    assert file.bytes_read == 64 * 1024 + 100
    file.seek(0)
    assert io.BufferedReader(file, 1024 * 1024).read() == data
    sizes = [end - start + 1 for start, end in counting.ranges[2:]]
    assert sizes[:5] == [64 * 1024, 128 * 1024, 256 * 1024, 512 * 1024, 1024 * 1024]
    assert max(sizes) == 1024 * 1024 and len(sizes) <= 8
