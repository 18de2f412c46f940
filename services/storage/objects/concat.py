"""Concatenate files into a new one in the kernel, hashing them on a helper thread meanwhile.

Composing a recording of 64 parts copies every byte once. Copied through Python (read,
hand to the MD5, copy into a write buffer, write) that pass cost about twice a plain copy
on this project's 2-core machine (docs/benchmarks.md); here the kernel copies
(copy_file_range, as `cp` does, so no byte crosses into Python on the way) while a second
thread reads the same files, mostly from the page cache the copy fills, and hashes them.
The pass then takes about as long as the slower of the two, which is the MD5.
"""

from __future__ import annotations

import errno
import hashlib
import os
import pathlib
import queue
import threading
from collections.abc import Callable, Iterable
from typing import BinaryIO

READ_BYTES = 4 * 1024 * 1024
# The hashing thread may lag this many files behind the copy; each holds one descriptor.
LAG_FILES = 8
# copy_file_range refused: not on this kernel or file system, or not between these files.
_NO_KERNEL_COPY = {errno.ENOSYS, errno.EXDEV, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM}
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


def concatenate(sources: Iterable[Callable[[], BinaryIO]], target: pathlib.Path) -> tuple[int, str]:
    """Write each opened source after the other into the new file `target` and fsync it.

    Returns (size, lowercase MD5 hex). Sources are opened one at a time, in order, and
    closed once copied; at most LAG_FILES of them stay open for the hashing thread. Raises
    OSError for any failure of the file system; `target` is then the caller's to remove.
    """
    hasher = _Hasher()
    size = 0
    try:
        out = os.open(target, _CREATE, 0o644)
        try:
            for open_source in sources:
                with open_source() as source:
                    length = os.fstat(source.fileno()).st_size
                    hasher.add(os.dup(source.fileno()), length)
                    _copy(source.fileno(), out, length)
                    size += length
            os.fsync(out)
        finally:
            os.close(out)
        return size, hasher.hexdigest()
    finally:
        hasher.close()


def _copy(source: int, target: int, length: int) -> None:
    """Append `length` bytes of `source` (from its start) to `target`, in the kernel if it can."""
    offset = 0
    while offset < length:
        try:
            copied = os.copy_file_range(source, target, length - offset, offset)
        except OSError as exc:
            if exc.errno not in _NO_KERNEL_COPY:
                raise
            copied = 0
        if copied == 0:
            _copy_by_reads(source, target, offset, length)
            return
        offset += copied


def _copy_by_reads(source: int, target: int, offset: int, length: int) -> None:
    while offset < length:
        chunk = os.pread(source, min(READ_BYTES, length - offset), offset)
        if not chunk:
            raise OSError(errno.EIO, "source ended before its size")
        view = memoryview(chunk)
        while view:
            view = view[os.write(target, view) :]
        offset += len(chunk)


class _Hasher:
    """One thread that hashes the files handed to it, in order, closing each descriptor."""

    def __init__(self) -> None:
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._files: queue.Queue[tuple[int, int] | None] = queue.Queue(maxsize=LAG_FILES)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="concat-md5", daemon=True)
        self._thread.start()

    def add(self, fd: int, length: int) -> None:
        """Hash `length` bytes of the file after the ones before it; the hasher closes fd."""
        self._files.put((fd, length))

    def hexdigest(self) -> str:
        """Wait for every file handed over; raise what the thread met, else the digest."""
        self.close()
        if self._error is not None:
            raise self._error
        return self._md5.hexdigest()

    def close(self) -> None:
        """Stop the thread once it has taken every file (safe to call more than once)."""
        if self._thread.is_alive():
            self._files.put(None)
            self._thread.join()

    def _run(self) -> None:
        buffer = bytearray(READ_BYTES)
        view = memoryview(buffer)
        while (item := self._files.get()) is not None:
            fd, length = item
            try:
                if self._error is None:
                    self._hash(fd, length, buffer, view)
            except BaseException as exc:  # reported by hexdigest, in the caller's thread
                self._error = exc
            finally:
                os.close(fd)

    def _hash(self, fd: int, length: int, buffer: bytearray, view: memoryview) -> None:
        offset = 0
        while offset < length:
            read = os.preadv(fd, [buffer], offset)
            if read == 0:
                raise OSError(errno.EIO, "source ended before its size")
            self._md5.update(view[: min(read, length - offset)])
            offset += read
