"""Ordered listings on the embedded SQLite store: expression indexes over BSON fields.

litemongo keeps each document as a BSON blob and answers queries with in-process hash
indexes, so "the first N by a field among documents with these equalities" decoded every
match. Here every connection gets two deterministic SQL functions (`bson_key`: a field's
value as bytes whose byte order is the engine's sort order; `bson_odd`: whether any of some
fields holds a value that encoding cannot rank, e.g. an array), each multi-field
create_index spec becomes an SQLite index on `bson_key` expressions plus a partial index
of its odd documents, and a listing whose filter's equalities cover an index's leading
fields and whose sort is the next ones is read in index order. Conditions on the index's
other fields become SQL over its keys (keyterms.py), and the total comes from a counter
kept by triggers (counters.py) when they name at most one of those fields. Anything else,
or a collection holding an odd document, returns None and the caller walks all matches.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from services.storage import counters
from services.storage.bsonkey import rank
from services.storage.keyterms import Term, translate

_PREFIX = "ordered:"
_KEPT = "_mediastore_ordered_indexes"  # an attribute of the litemongo store
_ANSWERS = "_mediastore_answers"  # another: answers kept while the file is unchanged
_ANSWERS_KEPT = 256


def sqlite_store_of(collection: Any) -> Any | None:
    """The litemongo SQLite store of a collection, or None for any other engine."""
    store = getattr(collection, "_store", None)
    if type(store).__module__ != "litemongo.sqlite_store":
        return None
    return store


def ensure_ordered_index(collection: Any, keys: Any, options: Mapping[str, Any]) -> None:
    """Mirror a create_index spec of two or more fields as an SQLite expression index."""
    store = sqlite_store_of(collection)
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


def drop_ordered_index(collection: Any, keys: Any) -> None:
    """Drop the SQLite index mirroring a dropped create_index spec, if there is one."""
    store = sqlite_store_of(collection)
    if store is None or isinstance(keys, str):
        return
    fields = ",".join(str(name) for name, _ in keys)
    with store._connection:
        for name in (f"{_PREFIX}{fields}", f"{_PREFIX}{fields}:odd"):
            store._connection.execute("DROP INDEX IF EXISTS " + _quoted(name))  # nosec


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _checked(fields: str) -> str:
    """The fields whose odd values send a listing to the walk: the index's and _id."""
    return fields if "_id" in fields.split(",") else f"{fields},_id"


def _answers(store: Any) -> tuple[dict[Any, Any], int]:
    """Answers kept for the collection file as it is now, and its schema version.

    What a query answers is a function of the file's content, which has not changed while
    this connection has made no change (total_changes, rolled-back ones included) and no
    other connection has committed one (data_version) nor changed the schema. So counts
    that read every index entry of a prefix (e.g. a text search) and the checks a plan
    makes are asked once per state of the file. Nothing is kept from inside a transaction,
    whose changes may yet be rolled back.
    """
    connection = store._connection
    data_version, schema_version = connection.execute(
        "SELECT data_version, schema_version FROM pragma_data_version, pragma_schema_version"
    ).fetchone()
    if connection.in_transaction:
        return {}, schema_version
    state = (connection.total_changes, data_version, schema_version)
    kept = getattr(store, _ANSWERS, None)
    if kept is None or kept[0] != state or len(kept[1]) >= _ANSWERS_KEPT:
        kept = (state, {})
        setattr(store, _ANSWERS, kept)
    return kept[1], schema_version


def _indexes(store: Any, version: int) -> list[list[str]]:
    """The field lists of the collection file's ordered indexes at this schema version.

    Kept with the schema version they were read at: SQLite changes it with every change of
    the file's schema, whichever connection makes it.
    """
    kept = getattr(store, _KEPT, None)
    if kept is not None and kept[0] == version:
        return kept[1]
    rows = store._connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE ?", (_PREFIX + "%",)
    ).fetchall()
    names = (name[len(_PREFIX) :] for (name,) in rows if not name.endswith(":odd"))
    indexes = [name.split(",") for name in names]
    setattr(store, _KEPT, (version, indexes))
    return indexes


class Plan:
    """An index that serves a listing: its equality prefix, sort and leftover filter."""

    def __init__(
        self,
        store: Any,
        fields: list[str],
        where: list[tuple[str, bytes]],
        answers: dict[Any, Any],
    ) -> None:
        self.store, self.fields, self.where, self.answers = store, fields, where, answers
        self.extra: Term | None = None
        # (field, term) when a counter can give the total: the filter beyond the equalities
        # is about one field of the index, or there is none (field None); else None.
        self.tally: tuple[str | None, Term | None] | None = None

    def _clause(self) -> tuple[str, list[Any]]:
        terms = " AND ".join(f"bson_key(doc, '{name}') = ?" for name, _ in self.where)
        args = [key for _, key in self.where]
        if self.extra is None:
            return terms, args
        return f"{terms} AND ({self.extra[0]})", [*args, *self.extra[1]]

    def is_exact(self) -> bool:
        """No document holds a value in the index's fields that the keys cannot rank."""
        # The same literal as the partial index's WHERE, so SQLite reads only that index.
        fields = _checked(",".join(self.fields))
        sql = f"SELECT 1 FROM {self.store.DOCUMENTS} WHERE bson_odd(doc, '{fields}') LIMIT 1"
        return self._asked(sql, []) is None

    def _asked(self, sql: str, args: Sequence[Any]) -> Any:
        """The first row `sql` answers, asked once per state of the file."""
        key = (sql, *args)
        if key not in self.answers:
            self.answers[key] = self.store._connection.execute(sql, args).fetchone()  # nosec
        return self.answers[key]

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
        return any(self._asked(sql, keys) for keys in others)

    def count(self) -> int:
        """How many documents have the equality prefix and meet the translated terms."""
        if self.tally is not None:
            names, keys = [name for name, _ in self.where], [key for _, key in self.where]
            return counters.total(self.store, names, keys, *self.tally)
        terms, args = self._clause()
        return self._asked(f"SELECT count(*) FROM {self.store.DOCUMENTS} WHERE {terms}", args)[0]

    def rows(
        self, sort: Sequence[tuple[str, int]], limit: int = -1, skip: int = 0
    ) -> Iterator[bytes]:
        """The prefix's documents (as stored) in sort order, ties in insertion order."""
        terms, args = self._clause()
        order = [
            f"bson_key(doc, '{name}') {'ASC' if direction == 1 else 'DESC'}"
            for name, direction in sort
        ]
        # Sorted by _id (ranked: is_exact), no two rows tie; without the needless rowid the
        # index's order serves the sort even when filter-only fields follow its sort fields.
        if all(name != "_id" for name, _ in sort):
            order.append("rowid")
        sql = (
            f"SELECT doc FROM {self.store.DOCUMENTS} WHERE {terms} "  # nosec
            f"ORDER BY {', '.join(order)} LIMIT ? OFFSET ?"
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
) -> tuple[Plan, dict[str, Any]] | None:
    """An exact index plan for the listing and the filter left to check, or None."""
    store = sqlite_store_of(collection)
    if store is None or not sort:
        return None
    equal = {
        name: rank(value)
        for name, value in filter.items()
        if not name.startswith("$") and "." not in name and isinstance(value, str | bool | int)
    }
    sorted_by = [name for name, _ in sort]
    answers, schema_version = _answers(store)
    for fields in _indexes(store, schema_version):
        # paginate() breaks ties by _id: the index orders the rest, SQLite sorts each tie.
        tie_break = sorted_by[-1] == "_id" and "_id" not in fields
        ordering = sorted_by[:-1] if tie_break else sorted_by
        prefix = _prefix(fields, ordering, equal)
        if prefix is None:
            continue
        where = [(name, equal[name]) for name in fields[:prefix]]
        chosen = Plan(store, fields, where, answers)
        alternates = [_lookalikes(filter[name]) for name in fields[:prefix]]
        if not chosen.is_exact() or chosen.has_lookalikes(alternates):
            return None
        rest = {name: value for name, value in filter.items() if name not in fields[:prefix]}
        chosen.extra, left = translate(rest, fields[prefix:])
        chosen.tally = None if left else _tally(rest, fields[prefix:])
        return chosen, left
    return None


def _tally(rest: dict[str, Any], fields: list[str]) -> tuple[str | None, Term | None] | None:
    """The counter that gives a total for these conditions: no field, or the one they name."""
    if not rest:
        return None, None
    for name in fields:
        term, left = translate(rest, [name], column=lambda _: "last")
        if term is not None and not left:
            return name, term
    return None


def _prefix(fields: list[str], ordering: list[str], equal: dict[str, Any]) -> int | None:
    """How many leading fields are equalities when the sort comes right after them.

    Fields after the sort's serve filters only (keyterms.py).
    """
    if not ordering:
        return None
    for prefix in range(1, len(fields) - len(ordering) + 1):
        if any(equal.get(name) is None for name in fields[:prefix]):
            return None
        if fields[prefix : prefix + len(ordering)] == ordering:
            return prefix
    return None


def _lookalikes(value: Any) -> list[bytes]:
    """The keys of the values the engine takes as equal to `value` (True == 1 == 1.0)."""
    keys = [rank(value)]
    if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
        keys.append(rank(int(value)) if isinstance(value, bool) else rank(bool(value)))
    return keys
