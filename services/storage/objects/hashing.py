"""An MD5 computed on a helper thread while the caller writes the same bytes elsewhere.

hashlib releases the GIL while it hashes a large buffer, so the digest of an upload runs on
a second core beside the write instead of after it: on this project's 2-core machine MD5
alone runs at about 650 MiB/s, and in series with the write it cost the upload a third of
its speed (docs/benchmarks.md). Chunks are hashed in order, gathered into batches of 1 MiB
(one read of a request body); the caller waits for the previous batch before handing over
the next, so memory holds at most two batches. The helpers are long-lived threads owned by
the store: an 8 MiB part starts no thread, and its last batch is handed over (flush())
before the file's last block is written, so little of the hash is left when the writer
needs the digest for the object's record.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import Executor, Future

# Small batches keep the tail short: the last one is hashed after the last write. Each
# hand-off costs the helper a wait for the GIL, which a 1 MiB batch (1.5 ms of hashing)
# repays many times over.
BATCH_BYTES = 1024 * 1024
# A smaller remainder is hashed at once by hexdigest(): a hand-off would cost more.
FLUSH_MIN_BYTES = 64 * 1024


class BackgroundMD5:
    """MD5 of everything passed to update(), computed on `helpers` beside the caller's work.

    Without `helpers` every chunk is hashed at once, in the caller's thread. An object
    smaller than one batch is hashed in the caller's thread too, unless flush() hands it over.
    """

    def __init__(self, helpers: Executor | None = None, batch_bytes: int = BATCH_BYTES) -> None:
        if batch_bytes <= 0:
            raise ValueError("batch_bytes must be positive")
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._helpers = helpers
        self._batch_bytes = batch_bytes
        self._batch: list[bytes | memoryview] = []
        self._batched = 0
        self._pending: Future[None] | None = None

    def update(self, chunk: bytes | memoryview) -> None:
        """Hash the chunk after the ones before it; may return before it is hashed."""
        if self._helpers is None:
            self._md5.update(chunk)
            return
        self._batch.append(chunk)
        self._batched += len(chunk)
        if self._batched >= self._batch_bytes:
            self._hand_off()

    def flush(self) -> None:
        """Hand what is gathered to a helper, to hash while the caller finishes its own work."""
        if self._batched >= FLUSH_MIN_BYTES and self._helpers is not None:
            self._hand_off()

    def _hand_off(self) -> None:
        # Chunks are immutable or owned by us until hashed: one is handed over uncopied.
        data = self._batch[0] if len(self._batch) == 1 else b"".join(self._batch)
        self._batch, self._batched = [], 0
        self._wait()
        self._pending = self._helpers.submit(self._md5.update, data)

    def hexdigest(self) -> str:
        """The digest of every chunk so far."""
        self._wait()
        for chunk in self._batch:
            self._md5.update(chunk)
        self._batch, self._batched = [], 0
        return self._md5.hexdigest()

    def close(self) -> None:
        """Drop what is not hashed yet (an aborted upload); safe to call more than once."""
        self._batch, self._batched = [], 0
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.cancel()

    def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()
