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
