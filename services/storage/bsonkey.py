"""Sort keys of BSON values as bytes, and the SQL functions the ordered indexes use.

A key's first byte is the engine's type rank (mongomock filtering._get_compare_type) and
the rest orders values of that type, so comparing two keys as bytes (memcmp, as SQLite
compares BLOBs) gives the order the engine gives their values. Values the encoding cannot
rank exactly (arrays, documents, Decimal128, NaN, integers beyond 2**53) have no key.
"""

from __future__ import annotations

import sqlite3
import struct
from datetime import datetime
from typing import Any

import bson
from bson import CodecOptions, DatetimeConversion, DatetimeMS, ObjectId

_CODEC = CodecOptions(datetime_conversion=DatetimeConversion.DATETIME_MS)
NULL, NUMBER, STRING, OBJECT_ID, BOOL, DATE = 5, 10, 15, 35, 40, 45
_EXACT_FLOAT = 2**53
# The last two documents decoded: index and counter upkeep asks for several fields of the
# same row in a row, and an update's triggers alternate between its old and new version.
_recent: list[tuple[bytes, dict[str, Any]]] = [(b"", {}), (b"", {})]


def rank(value: Any) -> bytes | None:  # noqa: PLR0911 - one return per type
    """A value's key: byte order equals the engine's order; None when it cannot say."""
    if value is None:
        return bytes([NULL])
    if isinstance(value, bool):
        return bytes([BOOL, int(value)])
    if isinstance(value, int | float):
        if isinstance(value, int) and abs(value) > _EXACT_FLOAT:
            return None
        number = float(value) or 0.0  # -0.0 equals 0.0
        if number != number:  # NaN compares with nothing
            return None
        bits = struct.unpack(">Q", struct.pack(">d", number))[0]
        bits = bits ^ 0xFFFFFFFFFFFFFFFF if bits >> 63 else bits | 1 << 63
        return bytes([NUMBER]) + struct.pack(">Q", bits)
    if isinstance(value, str):
        return bytes([STRING]) + value.encode("utf-8", "surrogatepass")
    if isinstance(value, ObjectId):
        return bytes([OBJECT_ID]) + value.binary
    if isinstance(value, datetime):
        # A query's datetime, at the store's precision (naive means UTC, as in the engine).
        value = DatetimeMS(value)
    if isinstance(value, DatetimeMS):
        return bytes([DATE]) + struct.pack(">Q", int(value) + (1 << 63))
    return None


def _fields(blob: bytes) -> dict[str, Any]:
    """The decoded top level of a stored document."""
    for kept, fields in _recent:
        if kept == blob:
            return fields
    decoded = bson.decode(blob, codec_options=_CODEC)
    _recent[:] = [(blob, decoded), _recent[0]]
    return decoded


def bson_key(blob: bytes, field: str) -> bytes | None:
    """The field's sort key (missing sorts as null); NULL when it cannot be ranked."""
    try:
        return rank(_fields(blob).get(field))
    except Exception:  # noqa: BLE001 - an index function must never fail a write
        return None


def bson_odd(blob: bytes, fields: str) -> int:
    """1 when any of the comma-separated fields cannot be ranked by bson_key."""
    return int(any(bson_key(blob, field) is None for field in fields.split(",")))


def bson_prefix(blob: bytes, fields: str) -> bytes | None:
    """The keys of the comma-separated fields as one value (each length-prefixed); NULL
    when one cannot be ranked."""
    keys = []
    for field in fields.split(","):
        key = bson_key(blob, field)
        if key is None:
            return None
        keys.append(struct.pack(">I", len(key)) + key)
    return b"".join(keys)


def prefix_of(keys: list[bytes]) -> bytes:
    """What bson_prefix gives a document whose fields have these keys."""
    return b"".join(struct.pack(">I", len(key)) + key for key in keys)


def register(connection: sqlite3.Connection) -> None:
    """Give a connection the functions the ordered indexes and counters are built on."""
    connection.create_function("bson_key", 2, bson_key, deterministic=True)
    connection.create_function("bson_odd", 2, bson_odd, deterministic=True)
    connection.create_function("bson_prefix", 2, bson_prefix, deterministic=True)
