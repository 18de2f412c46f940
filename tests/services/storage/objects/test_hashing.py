"""The background MD5 equals hashlib's, whatever the chunk sizes, on long-lived helpers."""

from __future__ import annotations

import hashlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from services.storage.objects.hashing import BATCH_BYTES, BackgroundMD5
from services.storage.objects.local import LocalObjectStore
from tests.fixtures.objects import KEY, md5

SIZES = (0, 1, 70_000, 100, 1 << 20, 65_536, 3, 2 * BATCH_BYTES + 5, 64 * 1024)


@pytest.fixture
def helpers():
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool


@pytest.mark.parametrize("with_helpers", [True, False])
def test_digest_equals_hashlib_over_mixed_chunk_sizes(helpers, with_helpers):
    chunks = [os.urandom(n) for n in SIZES]
    hasher = BackgroundMD5(helpers if with_helpers else None)
    for index, chunk in enumerate(chunks):
        hasher.update(memoryview(chunk))
        if index % 3 == 2:
            hasher.flush()  # a hand-over in mid-stream changes nothing but when
    hasher.flush()
    assert hasher.hexdigest() == hashlib.md5(b"".join(chunks)).hexdigest()


def test_many_digests_share_one_helper(helpers):
    data = [os.urandom(BATCH_BYTES + n) for n in range(4)]
    hashers = [BackgroundMD5(helpers) for _ in data]
    for hasher, chunk in zip(hashers, data, strict=True):
        hasher.update(chunk[:100])
        hasher.update(chunk[100:])
    assert [h.hexdigest() for h in hashers] == [md5(chunk) for chunk in data]


def test_closing_an_aborted_digest_leaves_the_shared_helpers_working(helpers):
    aborted = BackgroundMD5(helpers)
    aborted.update(bytes(BATCH_BYTES + 1))
    aborted.update(bytes(10))
    aborted.close()
    aborted.close()

    after = BackgroundMD5(helpers)
    after.update(bytes(BATCH_BYTES * 2))
    assert after.hexdigest() == md5(bytes(BATCH_BYTES * 2))


def md5_threads() -> set[int]:
    return {t.ident for t in threading.enumerate() if t.name.startswith("md5")}


def test_uploads_into_one_store_reuse_its_md5_helpers(tmp_path):
    """No thread per object: an 8 MiB part starts none, and the last ones stay for the next."""
    store = LocalObjectStore(tmp_path / "objects", KEY)
    before = md5_threads()
    seen = []
    for number in range(4):
        writer = store.open_writer(f"uploads/s/part-{number}", "application/octet-stream")
        for _ in range(3):
            writer.write(os.urandom(BATCH_BYTES))
        writer.commit()
        seen.append(md5_threads() - before)
    assert seen[0] and all(threads == seen[0] for threads in seen)
    assert len(seen[0]) <= min(4, os.cpu_count() or 1)
