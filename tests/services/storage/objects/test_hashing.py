"""The background MD5 equals hashlib's, whatever the chunk sizes, and cleans up after itself."""

from __future__ import annotations

import hashlib
import os
import threading

from services.storage.objects.hashing import BackgroundMD5


def test_digest_equals_hashlib_over_mixed_chunk_sizes():
    chunks = [os.urandom(n) for n in (0, 1, 70_000, 100, 1 << 20, 65_536, 3)]
    hasher = BackgroundMD5()
    for chunk in chunks:
        hasher.update(memoryview(chunk))
    assert hasher.hexdigest() == hashlib.md5(b"".join(chunks)).hexdigest()


def test_helper_threads_end_with_the_digest_or_close():
    before = threading.active_count()
    hasher = BackgroundMD5()
    hasher.update(bytes(200_000))
    hasher.hexdigest()
    aborted = BackgroundMD5()
    aborted.update(bytes(200_000))
    aborted.close()
    aborted.close()
    assert threading.active_count() == before
