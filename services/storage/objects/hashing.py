"""An MD5 computed on a helper thread while the caller writes the same bytes elsewhere.

hashlib releases the GIL while it hashes a large buffer, so the digest of an upload runs on
a second core beside the write instead of after it: on this project's 2-core machine MD5
alone runs at about 650 MiB/s, and in series with the write it cost the upload a third of
its speed (docs/benchmarks.md). Chunks are hashed in order, gathered into batches of a few
MiB; the caller waits for the previous batch before handing over the next, so memory holds
at most two batches.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import Future, ThreadPoolExecutor

# Chunks are gathered to this size and handed over joined: each hand-off costs the helper
# a wait for the GIL, so a few large ones overlap with the writer far better than many small.
BATCH_BYTES = 4 * 1024 * 1024
# The first bytes are hashed inline: a small upload finishes before a helper would pay off,
# and needs no batch buffers (a 10 MB upload then holds nothing more than its chunk).
INLINE_BYTES = 16 * 1024 * 1024


class BackgroundMD5:
    """MD5 of everything passed to update(), computed beside the caller's own work."""

    def __init__(self, batch_bytes: int = BATCH_BYTES) -> None:
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._batch_bytes = batch_bytes
        self._inline = 0
        self._batch: list[bytes | memoryview] = []
        self._batched = 0
        self._executor: ThreadPoolExecutor | None = None
        self._pending: Future[None] | None = None

    def update(self, chunk: bytes | memoryview) -> None:
        """Hash the chunk after the ones before it; may return before it is hashed."""
        if self._inline < INLINE_BYTES:
            self._inline += len(chunk)
            self._md5.update(chunk)
            return
        self._batch.append(chunk)
        self._batched += len(chunk)
        if self._batched >= self._batch_bytes:
            self._hand_off()

    def _hand_off(self) -> None:
        data = b"".join(self._batch)
        self._batch, self._batched = [], 0
        self._wait()
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="md5")
        self._pending = self._executor.submit(self._md5.update, data)

    def hexdigest(self) -> str:
        """The digest of every chunk so far; stops the helper thread."""
        self._wait()
        self._md5.update(b"".join(self._batch))
        self._batch, self._batched = [], 0
        self.close()
        return self._md5.hexdigest()

    def close(self) -> None:
        """Stop the helper thread (safe to call more than once)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()
