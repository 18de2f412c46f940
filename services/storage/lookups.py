"""Candidate lookups of the embedded store answered by SQLite indexes, not in-process ones.

litemongo narrows each query to candidate documents with hash indexes it keeps in memory:
an entry for every indexed field of every document, so the worker's memory grew with the
documents the store kept (docs/benchmarks.md, "Soak (issue 12)"). Here the store's
collections answer those lookups from the collection file instead: an equality on `_id`
reads the primary key, and an equality ($eq, $in) on a field that leads an SQLite index on
`bson_key(doc, 'field')` (the ordered indexes of ordered.py, or one made here for each
other index's leading field) reads that index. The candidates stay a superset of the
matches, as litemongo's are (the engine still checks each one): a value the keys cannot
rank (an array, a document, Decimal128, NaN, a huge integer) has a NULL key and is always
a candidate, and the keys of the values the engine takes as equal (True == 1 == 1.0) are
all looked up. Any other condition, a dotted path, a field without such an index: the
engine walks every document, as litemongo does for what its indexes cannot plan.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from bson import ObjectId
from litemongo import sqlite_store

from services.storage.bsonkey import rank

_PREFIX = "keyed:"
_KEPT = "_mediastore_keyed_fields"  # an attribute of the collection store
# An index whose first column is a field's key (keyed_fields leaves out partial ones).
_LEADING_KEY = re.compile(r"^CREATE INDEX .* ON documents\s*\(\s*bson_key\(doc, '([^']+)'\)")
_EQUAL_TYPES = (type(None), bool, int, float, str, datetime, ObjectId)
_ID_TYPES = (bool, int, str, ObjectId)
_EXACT_INT = 2**53
_MAX_KEYS = 500  # more alternatives than this: not worth an index read
_CHUNK = 500  # documents read per query, as litemongo reads its candidates


def find_candidates(store: Any, filter: Any) -> Iterator[dict[str, Any]]:  # noqa: A002
    """The documents (in natural order) that could match `filter`; the engine checks each."""
    store._remove_expired_documents()  # TTL indexes, as litemongo's own lookup does
    where = plan(store, filter)
    if where is None:
        return store.documents
    return _read(store, *where)


class KeyedDatabaseStore(sqlite_store.DatabaseStore):
    """A litemongo database directory whose collections look up candidates in SQLite."""

    def __getitem__(self, name: str) -> sqlite_store.CollectionStore:
        if name not in self._collections:
            store = sqlite_store.CollectionStore(
                self._dirpath / name, codec_options=self._codec_options
            )
            # Replaced on the instance, not by a subclass: ordered.py knows litemongo's
            # collection store by its type. litemongo's own find_candidates is the only
            # code that builds its hash index, so that index is never built.
            store.find_candidates = functools.partial(find_candidates, store)
            self._collections[name] = store
        return self._collections[name]


class KeyedServerStore(sqlite_store.ServerStore):
    """litemongo's SQLite server store, its databases KeyedDatabaseStores."""

    def __getitem__(self, name: str) -> KeyedDatabaseStore:
        if name not in self._databases:
            self._databases[name] = KeyedDatabaseStore(self._dirpath / name)
        return self._databases[name]


def ensure_keyed_index(collection: Any, keys: Any) -> None:
    """Give a create_index spec's leading field an SQLite index on its key, if it lacks one."""
    store = _store(collection)
    field = _leading(keys)
    if store is None or field is None or field in keyed_fields(store):
        return
    with store._connection:
        store._connection.execute(
            f'CREATE INDEX IF NOT EXISTS "{_PREFIX}{field}" '  # nosec - field checked above
            f"ON {store.DOCUMENTS}(bson_key(doc, '{field}'))"
        )


def drop_keyed_index(collection: Any, keys: Any, kept: list[Any]) -> None:
    """Drop the key index made for a dropped spec's leading field unless a kept spec leads
    with it too, and give each kept spec's leading field one if the drops left it none."""
    store = _store(collection)
    field = _leading(keys)
    if store is None or field is None:
        return
    if field not in {_leading(other) for other in kept}:
        with store._connection:
            store._connection.execute(f'DROP INDEX IF EXISTS "{_PREFIX}{field}"')  # nosec
    for other in kept:
        ensure_keyed_index(collection, other)


def _store(collection: Any) -> Any | None:
    """The collection's litemongo store if its lookups are the ones here, else None."""
    store = getattr(collection, "_store", None)
    return store if "find_candidates" in getattr(store, "__dict__", {}) else None


def _leading(keys: Any) -> str | None:
    """The first field of an index spec, if it can be a key index's (a plain top-level name)."""
    if isinstance(keys, str):
        field = keys
    elif keys and isinstance(keys[0], list | tuple) and isinstance(keys[0][0], str):
        field = keys[0][0]
    else:
        return None
    # bson_key reads top-level fields only; names are spliced into SQL as literals.
    if not field or field == "_id" or set(field) & set(".,$'\"") or not field.isprintable():
        return None
    return field


def keyed_fields(store: Any) -> frozenset[str]:
    """The fields that lead a full SQLite index on their key, in the collection's file.

    Kept with the schema version they were read at: SQLite changes it with every change of
    the file's schema, so one cheap pragma says when to read them again.
    """
    version = store._connection.execute("PRAGMA schema_version").fetchone()[0]
    kept = getattr(store, _KEPT, None)
    if kept is not None and kept[0] == version:
        return kept[1]
    rows = store._connection.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
        (store.DOCUMENTS,),
    ).fetchall()
    fields = frozenset(
        found.group(1)
        for (sql,) in rows
        if " WHERE " not in sql.upper() and (found := _LEADING_KEY.match(sql))
    )
    setattr(store, _KEPT, (version, fields))
    return fields


def plan(store: Any, filter: Any) -> tuple[str, list[Any]] | None:
    """The SQL condition selecting `filter`'s candidates and its arguments, or None (walk)."""
    if not isinstance(filter, Mapping):
        return None
    conditions = _conditions(filter)
    ids = [keys for field, keys in conditions if field == "_id"]
    if ids:
        # The primary key: at most one document per key, the smallest candidate set there is.
        keys = min(ids, key=len)
        encoded = _padded(sorted({store._documents.encode_key(value) for value in keys}))
        return f"_id IN ({', '.join('?' * len(encoded))})", encoded
    fields = keyed_fields(store)
    terms, args = [], []
    for field, values in conditions:
        if field not in fields:
            continue
        keys = _padded(sorted({rank(value) for value in values}))
        # A NULL key is a value the keys cannot rank: always a candidate.
        column = f"bson_key(doc, '{field}')"
        terms.append(f"({column} IN ({', '.join('?' * len(keys))}) OR {column} IS NULL)")
        args += keys
    if not terms:
        return None
    return " AND ".join(terms), args


def _padded(keys: list[Any]) -> list[Any]:
    """The keys, the last repeated up to a power of two of them.

    Each SQL text is a prepared statement that the connection keeps (up to 128 of them, in
    native memory): a list of any length would make one per length.
    """
    size = 1 << max(0, len(keys) - 1).bit_length()
    return keys + keys[-1:] * (size - len(keys))


def _conditions(filter: Mapping[str, Any]) -> list[tuple[str, list[Any]]]:
    """Each (field, values) that a match's field must equal one of, as the engine compares.

    Top-level fields and $and branches only; values widened by their lookalikes.
    """
    found = []
    for field, condition in filter.items():
        if field == "$and" and isinstance(condition, list):
            for branch in condition:
                if isinstance(branch, Mapping):
                    found += _conditions(branch)
            continue
        if field.startswith("$") or "." in field:
            continue
        values = _equal_values(condition)
        if values is None:
            continue
        values = _id_values(values) if field == "_id" else _rankable(values)
        if values is not None and len(values) <= _MAX_KEYS:
            found.append((field, values))
    return found


def _equal_values(condition: Any) -> list[Any] | None:
    """The values a condition's field must equal one of, or None when it says otherwise."""
    if isinstance(condition, Mapping):
        if not condition or not all(isinstance(name, str) for name in condition):
            return None
        if not all(name.startswith("$") for name in condition):
            return None  # an embedded document, compared whole
        if "$eq" in condition:
            values = [condition["$eq"]]
        elif "$in" in condition and isinstance(condition["$in"], list | tuple):
            values = list(condition["$in"])
        else:
            return None
    else:
        values = [condition]
    # None matches a missing field too: both have null's key (bson_key reads missing as null).
    if any(not isinstance(value, _EQUAL_TYPES) for value in values):
        return None
    return values


def _lookalikes(value: Any) -> list[Any]:
    """The values the engine takes as equal to `value` (Python's ==: True == 1 == 1.0)."""
    if isinstance(value, bool) or (isinstance(value, int | float) and value in (0, 1)):
        return [bool(value), int(value), float(value)]
    if isinstance(value, float) and value.is_integer():
        return [value, int(value)]
    if isinstance(value, int) and abs(value) <= _EXACT_INT:
        return [value, float(value)]
    return [value]


def _rankable(values: list[Any]) -> list[Any] | None:
    """The values and their lookalikes, if every one has a key; else None."""
    widened = [alike for value in values for alike in _lookalikes(value)]
    if any(rank(value) is None for value in widened):
        return None
    return widened


def _id_values(values: list[Any]) -> list[Any] | None:
    """_id values whose store keys are exact: strings, ObjectIds and small integral numbers."""
    widened = []
    for value in values:
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)
        if not isinstance(value, _ID_TYPES):
            return None
        if isinstance(value, int) and abs(value) > _EXACT_INT:
            return None
        widened += _lookalikes(value)
    return widened


def _read(store: Any, where: str, args: list[Any]) -> Iterator[dict[str, Any]]:
    """The candidates' documents in natural (row) order, read a chunk at a time.

    Their row ids are read first and in full, so writes made while the caller goes through
    them (update_many writes as it reads) neither add candidates nor move the ones to come.
    """
    table = store.DOCUMENTS
    rowids = [
        rowid
        for (rowid,) in store._connection.execute(
            f"SELECT rowid FROM {table} WHERE {where} ORDER BY rowid",  # nosec - built by plan()
            args,
        )
    ]
    for start in range(0, len(rowids), _CHUNK):
        # One SQL text for any number of rows (see _padded): the ids as one JSON argument.
        chunk = json.dumps(rowids[start : start + _CHUNK])
        rows = store._connection.execute(
            f"SELECT doc FROM {table} WHERE rowid IN (SELECT value FROM json_each(?)) "  # nosec
            "ORDER BY rowid",
            (chunk,),
        ).fetchall()
        for (blob,) in rows:
            yield store._documents._decode_doc(blob)
