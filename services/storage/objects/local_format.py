"""The local store's object files: the record in a header block, then the object's bytes.

One file per object, so one fsync of it and one of its directory make a new object durable
(a separate record file cost a third fsync per object: docs/benchmarks.md). The header is
`mediastore-object 1 <room>` on its own line, the record's JSON on the next, then zeros up
to `room` bytes, a whole number of blocks so the bytes after it stay aligned for O_DIRECT.
Objects stored before this format have a JSON record and a hidden data file beside it
(`.<basename>.<generation>`); they are read, replaced and deleted as they are.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
from dataclasses import dataclass
from typing import Any

MAGIC = b"mediastore-object 1 "
BLOCK = 4096
# The longest record besides its content type: generation, size, created, MD5, names.
_FIXED_ROOM = 256
# Legacy records are small JSON documents; anything longer is no record.
_LEGACY_MAX = 64 * 1024


@dataclass(frozen=True)
class Record:
    """An object's record, and where its bytes are: after `offset` bytes of the record's own
    file, or (an object stored before this format, `offset` None) in a hidden data file."""

    fields: dict[str, Any]
    offset: int | None


def header_room(content_type: str) -> int:
    """The bytes to reserve before an object of this type: whole blocks."""
    room = len(MAGIC) + 12 + len(json.dumps(content_type)) + _FIXED_ROOM
    return -(-room // BLOCK) * BLOCK


def encode_header(fields: dict[str, Any], room: int) -> bytes:
    """The header of an object: exactly `room` bytes (ValueError if the record is longer)."""
    text = MAGIC + str(room).encode() + b"\n" + json.dumps(fields).encode() + b"\n"
    if len(text) > room:
        raise ValueError("the record does not fit the room reserved for it")
    return text.ljust(room, b"\0")


def read_record(fd: int) -> Record:
    """The record at the start of an open object file; ValueError if there is none."""
    head = os.pread(fd, BLOCK, 0)
    if head.startswith(MAGIC):
        first, newline, rest = head.partition(b"\n")
        room = int(first[len(MAGIC) :]) if newline else 0
        if room < len(first) + 1 or room % BLOCK:
            raise ValueError("damaged object header")
        if room > len(head):
            rest = os.pread(fd, room, 0).partition(b"\n")[2]
        document, newline, _ = rest.partition(b"\n")
        if not newline:
            raise ValueError("damaged object header")
        return Record(_fields(document), room)
    if head.startswith(b"{"):
        whole = head if len(head) < BLOCK else os.pread(fd, _LEGACY_MAX, 0)
        return Record(_fields(whole), None)
    raise ValueError("not an object record")


def legacy_data_path(record: pathlib.Path, generation: str) -> pathlib.Path:
    """Where an object stored before this format keeps its bytes."""
    return record.with_name(f".{record.name}.{generation}")


def _fields(document: bytes) -> dict[str, Any]:
    fields = json.loads(document)
    if not isinstance(fields, dict) or not {"generation", "size", "content_type"} <= set(fields):
        raise ValueError("incomplete object record")
    return fields


def unlink_quietly(path: pathlib.Path) -> None:
    """Remove a file if it can be: already gone, or an orphan that costs only disk space."""
    with contextlib.suppress(OSError):
        path.unlink()


def fsync_dir(path: pathlib.Path) -> None:
    """Make the entries of a directory durable (a rename into it, a file created in it)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
