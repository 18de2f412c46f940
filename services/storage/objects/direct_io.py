"""Write a large new file past the page cache (O_DIRECT), or through it where that fails.

Uploads into the local store are written once and read later, if at all. Sending them
through the page cache costs the writer a kernel copy into freshly allocated cache pages
per byte, which on a small VM is most of an upload's CPU time (docs/benchmarks.md), and it
pushes hotter data out of the cache. Object stores that write to local disks (MinIO, for
one) write large objects with O_DIRECT for the same reasons.
"""

from __future__ import annotations

import errno
import fcntl
import mmap
import os
import pathlib
import threading

MIB = 1024 * 1024
# Direct writes need the buffer address, the file offset and the length aligned to the
# device's logical block (512 or 4096 bytes). A page-aligned buffer of whole pages,
# always written whole, satisfies both.
_ALIGNMENT = mmap.PAGESIZE
_O_DIRECT = getattr(os, "O_DIRECT", 0)  # Linux; elsewhere every write is buffered
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


class AlignedBuffers:
    """Page-aligned buffers of one size, kept for the next file once one is closed.

    A fresh anonymous map costs its page faults and zeroing the first time it is filled:
    about 5 ms for 4 MiB on this project's machine, paid by every 8 MiB part of an upload
    in parts (docs/benchmarks.md). At most `keep` idle buffers are kept; more are unmapped.
    """

    def __init__(self, buffer_bytes: int = 4 * MIB, keep: int = 4) -> None:
        if buffer_bytes <= 0 or buffer_bytes % _ALIGNMENT:
            raise ValueError(f"buffer_bytes must be a positive multiple of {_ALIGNMENT}")
        self.buffer_bytes = buffer_bytes
        self._keep = keep
        self._idle: list[mmap.mmap] = []
        self._lock = threading.Lock()

    def take(self) -> mmap.mmap:
        """An idle buffer, else a new one (anonymous maps are page-aligned)."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return mmap.mmap(-1, self.buffer_bytes)

    def give(self, buffer: mmap.mmap) -> None:
        """Take a buffer back for the next file; its old bytes are never read again."""
        with self._lock:
            if len(self._idle) < self._keep:
                self._idle.append(buffer)
                return
        buffer.close()


class DirectFile:
    """A new file, created exclusively, written in aligned blocks with O_DIRECT.

    Bytes are gathered in a page-aligned buffer and written one full buffer at a time, so
    every direct write is aligned. finish() turns O_DIRECT off for the last partial block,
    then fsyncs. Where O_DIRECT is missing or the file system refuses it (tmpfs and some
    FUSE mounts answer EINVAL), the same calls write through the page cache instead.
    Memory: one buffer of `buffer_bytes` per open file, taken from `buffers` when given
    (and given back by close()). `direct=False` always buffers.
    """

    def __init__(
        self,
        path: pathlib.Path,
        buffer_bytes: int = 4 * MIB,
        *,
        direct: bool = True,
        buffers: AlignedBuffers | None = None,
    ) -> None:
        self._buffers = buffers or AlignedBuffers(buffer_bytes, keep=0)
        self._fd = _open_new(path, direct)
        self.direct = bool(fcntl.fcntl(self._fd, fcntl.F_GETFL) & _O_DIRECT)
        self._buffer: mmap.mmap | None = self._buffers.take()
        self._filled = 0
        self.size = 0

    def write(self, data: bytes | memoryview) -> None:
        """Append `data`, writing each buffer to the file as soon as it is full."""
        if self._buffer is None:
            raise ValueError("file is closed")
        with memoryview(data) as view:
            capacity = len(self._buffer)
            offset = 0
            while offset < len(view):
                taken = min(len(view) - offset, capacity - self._filled)
                self._buffer[self._filled : self._filled + taken] = view[offset : offset + taken]
                self._filled += taken
                offset += taken
                if self._filled == capacity:
                    self._write_buffer()
        self.size += offset

    def flush(self) -> None:
        """Write what is still buffered; the file takes no more writes after it."""
        if self._filled:
            self._stop_direct()  # the tail is not a whole number of blocks
            self._write_buffer()

    def finish(self, head: bytes = b"") -> None:
        """Write what is still buffered and `head` over the file's first bytes (a header
        known only at the end), make the file durable and close it."""
        self.flush()
        if head:
            if len(head) > self.size:
                raise ValueError("head runs past the bytes written")
            self._stop_direct()  # the head is no aligned buffer
            written = 0
            while written < len(head):
                written += os.pwrite(self._fd, head[written:], written)
        os.fsync(self._fd)
        self.close()

    def close(self) -> None:
        """Release the file and give the buffer back; safe to call more than once."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        if self._buffer is not None:
            buffer, self._buffer = self._buffer, None
            self._buffers.give(buffer)

    def _write_buffer(self) -> None:
        # Every view of the map is released on the way out, or close() could not unmap it.
        assert self._buffer is not None
        with memoryview(self._buffer) as whole:
            done = 0
            while done < self._filled:
                with whole[done : self._filled] as pending:
                    try:
                        written = os.write(self._fd, pending)
                    except OSError as exc:
                        if not (self.direct and exc.errno == errno.EINVAL):
                            raise
                        # Accepted at open, refused at write: some file systems say so here.
                        self._stop_direct()
                        continue
                done += written
                if done < self._filled and self.direct:
                    self._stop_direct()  # the rest would start at an unaligned offset
        self._filled = 0

    def _stop_direct(self) -> None:
        if self.direct:
            flags = fcntl.fcntl(self._fd, fcntl.F_GETFL)
            fcntl.fcntl(self._fd, fcntl.F_SETFL, flags & ~_O_DIRECT)
            self.direct = False


def _open_new(path: pathlib.Path, direct: bool) -> int:
    if direct and _O_DIRECT:
        try:
            return os.open(path, _CREATE | _O_DIRECT, 0o644)
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
    return os.open(path, _CREATE, 0o644)
