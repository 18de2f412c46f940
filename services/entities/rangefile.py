"""A read-only, seekable file over a stored object, read by ranges one block at a time."""

from __future__ import annotations

import io

from services.storage.objects import ObjectStore

BLOCK_BYTES = 1024 * 1024


class RangeFile(io.RawIOBase):
    """The object `name` of `size` bytes as a file: what metadata readers need, no more.

    Pillow and PyAV read headers and seek about (an MP4's index may sit at the end); each
    read past the cached block fetches the next BLOCK_BYTES by one ranged read, so memory
    holds one block and a reader that only looks at headers fetches only those.
    """

    def __init__(self, store: ObjectStore, name: str, size: int, block_bytes: int = BLOCK_BYTES):
        super().__init__()
        self.store = store
        self.name = name
        self.size = size
        self.block_bytes = block_bytes
        self.position = 0
        self.fetched = 0  # bytes read from storage, for tests and logs
        self._block_start = 0
        self._block = b""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self.position = base + offset
        return self.position

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        if self.position >= self.size:
            return 0
        if not self._block_start <= self.position < self._block_start + len(self._block):
            self._load(self.position)
        start = self.position - self._block_start
        piece = self._block[start : start + len(buffer)]
        buffer[: len(piece)] = piece
        self.position += len(piece)
        return len(piece)

    def _load(self, start: int) -> None:
        end = min(start + self.block_bytes, self.size) - 1
        self._block = b"".join(self.store.read_range(self.name, start, end))
        self._block_start = start
        self.fetched += len(self._block)
