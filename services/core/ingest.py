"""Ingest: one pipeline from an upload's chunks to a committed object.

Sniff the type from the first bytes, enforce the size limit while the bytes stream, let the
caller reserve each block before it is written, write, commit, then decode what was stored
(content.py) and delete it if it is not what it claimed to be; abort on any failure.
Memory holds one block (8 MiB) at most. The object's MD5 and size come from the store, which
computes them in the same pass as the write (GCS on its side, the local store as it writes).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from services.core.cleanup import quietly
from services.core.content import ContentCheck
from services.core.errors import PayloadTooLarge, UnsupportedMediaType
from services.core.sniff import SNIFF_BYTES
from services.storage.objects import ObjectInfo, ObjectStore, ObjectWriter

log = logging.getLogger("mediastore.ingest")

MIB = 1024 * 1024
BLOCK_BYTES = 8 * MIB

Chunk = bytes | memoryview


@dataclass(frozen=True)
class Accept:
    """What an upload may be: a sniffer that names its type (None: refused) and a size limit."""

    sniff: Callable[[bytes], str | None]
    max_bytes: int
    unsupported: str = "Unsupported media type"
    too_large: str = "Upload exceeds the maximum allowed size"


def take_prefix(chunks: Iterator[Chunk], size: int) -> bytes:
    """Read from the iterator until at least `size` bytes (or the end) are in hand."""
    parts: list[Chunk] = []
    have = 0
    for chunk in chunks:
        parts.append(chunk)
        have += len(chunk)
        if have >= size:
            break
    return b"".join(parts)


class Ingest:
    """Streams uploads into the object store (see the module docstring)."""

    def __init__(
        self,
        store: ObjectStore,
        *,
        block_bytes: int = BLOCK_BYTES,
        content_check: ContentCheck | None = None,
    ) -> None:
        self.store = store
        self.block_bytes = block_bytes
        self.content_check = content_check or ContentCheck()

    def store_upload(
        self,
        chunks: Iterable[Chunk],
        accept: Accept,
        name_for: Callable[[str], str],
        on_block: Callable[[int], Any] | None = None,
    ) -> ObjectInfo:
        """Store the upload under name_for(its sniffed type) and return the committed object.

        `on_block(n)` runs before each block of n bytes is written (a quota reservation);
        whatever it raises aborts the upload. Raises UnsupportedMediaType, PayloadTooLarge,
        or the store's StorageUnavailable; nothing is left in storage when it raises. The
        committed object is decoded before it is returned (the caller's record comes after).
        """
        stream = iter(chunks)
        prefix = take_prefix(stream, SNIFF_BYTES)
        content_type = accept.sniff(prefix) if prefix else None
        if content_type is None:
            raise UnsupportedMediaType(accept.unsupported)
        writer = self.store.open_writer(name_for(content_type), content_type)
        try:
            self._transfer(_prepend(prefix, stream), accept, writer, on_block)
            info = writer.commit()
        except BaseException:
            quietly(writer.abort, log)
            raise
        try:
            self.content_check.verify(self.store, info, accept.unsupported)
        except BaseException:
            quietly(lambda: self.store.delete(info.name), log)
            raise
        return info

    def _transfer(
        self,
        chunks: Iterator[Chunk],
        accept: Accept,
        writer: ObjectWriter,
        on_block: Callable[[int], Any] | None,
    ) -> None:
        total = 0
        for block in _blocks(chunks, self.block_bytes):
            size = sum(len(part) for part in block)
            total += size
            if total > accept.max_bytes:
                raise PayloadTooLarge(accept.too_large)
            if on_block is not None:
                on_block(size)
            for part in block:
                writer.write(part)


def _prepend(first: bytes, rest: Iterator[Chunk]) -> Iterator[Chunk]:
    if first:
        yield first
    yield from rest


def _blocks(chunks: Iterator[Chunk], block_bytes: int) -> Iterator[list[Chunk]]:
    """Group chunks into lists of about block_bytes; memory is bounded by one block."""
    block: list[Chunk] = []
    size = 0
    for chunk in chunks:
        if not chunk:
            continue
        block.append(chunk)
        size += len(chunk)
        if size >= block_bytes:
            yield block
            block, size = [], 0
    if block:
        yield block
