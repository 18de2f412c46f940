"""A stored object as a read-only, seekable file, read by ranges as the reader moves.

Decoders (PyAV, Pillow) want a file; a stored video may be gigabytes. This reads what the
decoder asks for, a window at a time, so making a poster frame touches a few MiB of a
video, whichever store holds it.
"""

from __future__ import annotations

import io

from services.storage.objects import ObjectStore

WINDOW = 1024 * 1024


class ObjectFile(io.RawIOBase):
    """`size` bytes of object `name`, read through the store's read_range."""

    def __init__(self, store: ObjectStore, name: str, size: int, window: int = WINDOW) -> None:
        super().__init__()
        self._store, self._name, self._size, self._window = store, name, size, window
        self._position = 0
        self._cache_start, self._cache = 0, b""
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
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
        end = min(self._size, start + self._window) - 1
        self._cache = b"".join(self._store.read_range(self._name, start, end))
        self._cache_start = start
        self.bytes_read += len(self._cache)
