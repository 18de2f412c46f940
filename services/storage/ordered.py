"""Ordered listings on the embedded SQLite store: expression indexes over BSON fields.

litemongo keeps each document as a BSON blob and answers queries with in-process hash
indexes, so "the first N by a field among documents with these equalities" decoded every
match. Here every connection gets two deterministic SQL functions (`bson_key`: a field's
value as bytes whose byte order is the engine's sort order; `bson_odd`: whether any of some
fields holds a value that encoding cannot rank, e.g. an array), each multi-field
create_index spec becomes an SQLite index on `bson_key` expressions plus a partial index
of its odd documents, and a listing whose filter's equalities cover an index's leading
fields and whose sort is the next ones is read in index order. Anything else, or a
collection holding an odd document, returns None and the caller walks all matches.
"""

from __future__ import annotations

import itertools
import sqlite3
import struct
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import bson
from bson import CodecOptions, DatetimeConversion, DatetimeMS, ObjectId

_PREFIX = "ordered:"
_CODEC = CodecOptions(datetime_conversion=DatetimeConversion.DATETIME_MS)
# The engine's type ranks (mongomock filtering._get_compare_type), as the key's first byte.
_NULL, _NUMBER, _STRING, _OBJECT_ID, _BOOL, _DATE = 5, 10, 15, 35, 40, 45
_EXACT_FLOAT = 2**53
_last: tuple[bytes, dict[str, Any]] = (b"", {})


def _rank(value: Any) -> bytes | None:  # noqa: PLR0911 - one return per type
    """A value's key: byte order equals the engine's order; None when it cannot say."""
    if value is None:
        return bytes([_NULL])
    if isinstance(value, bool):
        return bytes([_BOOL, int(value)])
    if isinstance(value, int | float):
        if isinstance(value, int) and abs(value) > _EXACT_FLOAT:
            return None
        number = float(value) or 0.0  # -0.0 equals 0.0
        if number != number:  # NaN compares with nothing
            return None
        bits = struct.unpack(">Q", struct.pack(">d", number))[0]
        bits = bits ^ 0xFFFFFFFFFFFFFFFF if bits >> 63 else bits | 1 << 63
        return bytes([_NUMBER]) + struct.pack(">Q", bits)
    if isinstance(value, str):
        return bytes([_STRING]) + value.encode("utf-8", "surrogatepass")
    if isinstance(value, ObjectId):
        return bytes([_OBJECT_ID]) + value.binary
    if isinstance(value, DatetimeMS):
        return bytes([_DATE]) + struct.pack(">Q", int(value) + (1 << 63))
    return None


def _fields(blob: bytes) -> dict[str, Any]:
    """The decoded top level of a stored document (the last one is kept: index writes
    ask for several fields of the same row in a row)."""
    global _last
    if _last[0] != blob:
        _last = (blob, bson.decode(blob, codec_options=_CODEC))
    return _last[1]


def bson_key(blob: bytes, field: str) -> bytes | None:
    """The field's sort key (missing sorts as null); NULL when it cannot be ranked."""
    try:
        return _rank(_fields(blob).get(field))
    except Exception:  # noqa: BLE001 - an index function must never fail a write
        return None


def bson_odd(blob: bytes, fields: str) -> int:
    """1 when any of the comma-separated fields cannot be ranked by bson_key."""
    return int(any(bson_key(blob, field) is None for field in fields.split(",")))


def register(connection: sqlite3.Connection) -> None:
    """Give a connection the functions the ordered indexes are built on."""
    connection.create_function("bson_key", 2, bson_key, deterministic=True)
    connection.create_function("bson_odd", 2, bson_odd, deterministic=True)


def _store(collection: Any) -> Any | None:
    """The litemongo SQLite store of a collection, or None for any other engine."""
    store = getattr(collection, "_store", None)
    if type(store).__module__ != "litemongo.sqlite_store":
        return None
    return store


def ensure_ordered_index(collection: Any, keys: Any, options: Mapping[str, Any]) -> None:
    """Mirror a create_index spec of two or more fields as an SQLite expression index."""
    store = _store(collection)
    if store is None or isinstance(keys, str) or options.get("sparse"):
        return
    if options.get("partialFilterExpression") or len(keys) < 2:
        return
    if any(not isinstance(name, str) or direction not in (1, -1) for name, direction in keys):
        return
    # bson_key reads top-level fields only; names are spliced into SQL as literals.
    if any(not name or set(name) & set(".,$'\"") for name, _ in keys):
        return
    fields = ",".join(name for name, _ in keys)
    if not fields.isprintable():
        return
    table = store.DOCUMENTS
    columns = ", ".join(
        f"bson_key(doc, '{name}') {'ASC' if direction == 1 else 'DESC'}" for name, direction in keys
    )
    with store._connection:
        store._connection.execute(
            f'CREATE INDEX IF NOT EXISTS "{_PREFIX}{fields}" ON {table}({columns})'  # nosec
        )
        store._connection.execute(
            f'CREATE INDEX IF NOT EXISTS "{_PREFIX}{fields}:odd" ON {table}(_id) '  # nosec
            f"WHERE bson_odd(doc, '{_checked(fields)}')"
        )


def _checked(fields: str) -> str:
    """The fields whose odd values send a listing to the walk: the index's and _id."""
    return fields if "_id" in fields.split(",") else f"{fields},_id"


def _indexes(store: Any) -> list[list[str]]:
    """The field lists of the collection file's ordered indexes."""
    rows = store._connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE ?", (_PREFIX + "%",)
    ).fetchall()
    names = (name[len(_PREFIX) :] for (name,) in rows if not name.endswith(":odd"))
    return [name.split(",") for name in names]


class _Plan:
    """An index that serves a listing: its equality prefix, sort and leftover filter."""

    def __init__(self, store: Any, fields: list[str], where: list[tuple[str, bytes]]) -> None:
        self.store, self.fields, self.where = store, fields, where

    def _clause(self) -> tuple[str, list[Any]]:
        terms = " AND ".join(f"bson_key(doc, '{name}') = ?" for name, _ in self.where)
        return terms, [key for _, key in self.where]

    def is_exact(self) -> bool:
        """No document holds a value in the index's fields that the keys cannot rank."""
        # The same literal as the partial index's WHERE, so SQLite reads only that index.
        fields = _checked(",".join(self.fields))
        row = self.store._connection.execute(
            f"SELECT 1 FROM {self.store.DOCUMENTS} WHERE bson_odd(doc, '{fields}') LIMIT 1"  # nosec
        ).fetchone()
        return row is None

    def has_lookalikes(self, alternates: list[list[bytes]]) -> bool:
        """Whether some document matches the equalities only by the engine's True == 1.

        The engine compares with Python's ==, so {"x": False} also matches 0 and 0.0, which
        rank as numbers, not as booleans. Each other combination is one index seek.
        """
        names = [name for name, _ in self.where]
        terms = " AND ".join(f"bson_key(doc, '{name}') = ?" for name in names)
        sql = f"SELECT 1 FROM {self.store.DOCUMENTS} WHERE {terms} LIMIT 1"  # nosec
        primary = tuple(key for _, key in self.where)
        others = (keys for keys in itertools.product(*alternates) if keys != primary)
        return any(self.store._connection.execute(sql, keys).fetchone() for keys in others)

    def count(self) -> int:
        """How many documents have the equality prefix."""
        terms, args = self._clause()
        sql = f"SELECT count(*) FROM {self.store.DOCUMENTS} WHERE {terms}"  # nosec
        return self.store._connection.execute(sql, args).fetchone()[0]

    def rows(
        self, sort: Sequence[tuple[str, int]], limit: int = -1, skip: int = 0
    ) -> Iterator[bytes]:
        """The prefix's documents (as stored) in sort order, ties in insertion order."""
        terms, args = self._clause()
        order = ", ".join(
            f"bson_key(doc, '{name}') {'ASC' if direction == 1 else 'DESC'}"
            for name, direction in sort
        )
        sql = (
            f"SELECT doc FROM {self.store.DOCUMENTS} WHERE {terms} "  # nosec
            f"ORDER BY {order}, rowid LIMIT ? OFFSET ?"
        )
        # A cursor of its own: litemongo's shared cursor may be used while this one reads.
        cursor = self.store._connection.cursor()
        try:
            for (blob,) in cursor.execute(sql, [*args, limit, skip]):
                yield blob
        finally:
            cursor.close()


def plan(
    collection: Any, filter: Mapping[str, Any], sort: Sequence[tuple[str, int]]
) -> tuple[_Plan, dict[str, Any]] | None:
    """An exact index plan for the listing and the filter left to check, or None."""
    store = _store(collection)
    if store is None or not sort:
        return None
    equal = {
        name: _rank(value)
        for name, value in filter.items()
        if not name.startswith("$") and "." not in name and isinstance(value, str | bool | int)
    }
    sorted_by = [name for name, _ in sort]
    for fields in _indexes(store):
        # paginate() breaks ties by _id: the index orders the rest, SQLite sorts each tie.
        tie_break = sorted_by[-1] == "_id" and "_id" not in fields
        ordering = sorted_by[:-1] if tie_break else sorted_by
        prefix = len(fields) - len(ordering)
        if prefix < 1 or not ordering or fields[prefix:] != ordering:
            continue
        if any(name not in equal or equal[name] is None for name in fields[:prefix]):
            continue
        chosen = _Plan(store, fields, [(name, equal[name]) for name in fields[:prefix]])
        alternates = [_lookalikes(filter[name]) for name in fields[:prefix]]
        if not chosen.is_exact() or chosen.has_lookalikes(alternates):
            return None
        rest = {name: value for name, value in filter.items() if name not in fields[:prefix]}
        return chosen, rest
    return None


def _lookalikes(value: Any) -> list[bytes]:
    """The keys of the values the engine takes as equal to `value` (True == 1 == 1.0)."""
    keys = [_rank(value)]
    if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
        keys.append(_rank(int(value)) if isinstance(value, bool) else _rank(bool(value)))
    return keys


def decode(collection: Any, blob: bytes) -> dict[str, Any]:
    """A stored document decoded as the engine decodes it."""
    return collection._store._documents._decode_doc(blob)


def page_ids(
    collection: Any,
    engine: Any,
    spec: Mapping[str, Any],
    indexed: tuple[Any, dict[str, Any]],
    sort: Sequence[tuple[str, int]],
    skip: int,
    limit: int,
) -> tuple[list[Any], int]:
    """The page's ids and the total, read in an ordered index's order (ordered.py)."""
    chosen, rest = indexed
    if not rest:
        blobs = chosen.rows(sort, limit, skip)
        return [decode(collection, blob)["_id"] for blob in blobs], chosen.count()
    # Filters beyond the index's equalities: every document of the prefix is checked.
    ids, total = [], 0
    for blob in chosen.rows(sort):
        doc = decode(collection, blob)
        if engine.filtering.filter_applies(spec, doc):
            if skip <= total < skip + limit:
                ids.append(doc["_id"])
            total += 1
    return ids, total


def first(
    collection: Any,
    engine: Any,
    spec: Mapping[str, Any],
    indexed: tuple[Any, dict[str, Any]],
    sort: Sequence[tuple[str, int]],
    limit: int,
) -> list[dict[str, Any]]:
    """The first `limit` matches, read in an ordered index's order until found."""
    chosen, rest = indexed
    docs: list[dict[str, Any]] = []
    rows = chosen.rows(sort, -1 if rest else limit)
    try:
        for blob in rows:
            if len(docs) >= limit:
                break
            doc = decode(collection, blob)
            if not rest or engine.filtering.filter_applies(spec, doc):
                docs.append(doc)
    finally:
        rows.close()
    return docs
