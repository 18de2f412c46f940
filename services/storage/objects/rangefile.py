"""A stored object as a read-only, seekable file, read by ranges as the reader moves.

Decoders and metadata readers (PyAV, Pillow, pypdf) want a file; a stored video may be
gigabytes. ObjectFile reads what the reader asks for, one window at a time, so memory holds
one window and a reader that looks at headers and an index fetches only those, whichever
store holds the object. Windows start small after every jump and double while the reader
goes on in order, as a file system's readahead does: a probe of a header and of an index at
the far end (an MP4's `moov`) costs two small reads, a decoder reading on costs few calls.
"""

from __future__ import annotations

import io

from services.core.errors import MediastoreError
from services.storage.objects.base import ObjectStore

WINDOW_BYTES = 1024 * 1024
FIRST_WINDOW_BYTES = 64 * 1024


class ReadBudgetExceeded(Exception):
    """The reader asked for more of the object than its budget allows."""


class ObjectFile(io.RawIOBase):
    """`size` bytes of object `name`, read through the store's read_range.

    `budget` caps the bytes fetched in all (None: no cap). A store error is kept in
    `failure` before it propagates, because decoders swallow or rewrap what reads raise
    and the caller must still tell a store outage from bad content.
    """

    def __init__(
        self,
        store: ObjectStore,
        name: str,
        size: int,
        *,
        window: int = WINDOW_BYTES,
        budget: int | None = None,
    ) -> None:
        super().__init__()
        self._store, self._name, self._size = store, name, size
        self._window, self._budget = window, budget
        self._span = min(window, FIRST_WINDOW_BYTES)
        self._position = 0
        self._cache_start, self._cache = 0, b""
        self.bytes_read = 0
        self.failure: MediastoreError | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._position = base + offset
        return self._position

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        if self._position >= self._size:
            return 0
        offset = self._position - self._cache_start
        if not 0 <= offset < len(self._cache):
            self._fill(self._position)
            offset = 0
        count = min(len(buffer), len(self._cache) - offset)
        buffer[:count] = self._cache[offset : offset + count]
        self._position += count
        return count

    def _fill(self, start: int) -> None:
        in_order = bool(self._cache) and start == self._cache_start + len(self._cache)
        self._span = min(self._window, self._span * 2 if in_order else FIRST_WINDOW_BYTES)
        end = min(self._size, start + self._span) - 1
        if self._budget is not None and self.bytes_read + end - start + 1 > self._budget:
            raise ReadBudgetExceeded(f"more than {self._budget} bytes read")
        try:
            self._cache = b"".join(self._store.read_range(self._name, start, end))
        except MediastoreError as error:
            self.failure = error
            raise
        self._cache_start = start
        self.bytes_read += len(self._cache)
