"""Listing totals on the embedded SQLite store, kept by triggers instead of counted.

Counting the documents of an index prefix walks every index entry of it: at 10,000 files
that is most of a listing's time. A counter is a set of rows (prefix keys, key of one more
field, n) in the collection file's `ordered_counts` table, kept by triggers on the
documents table in the same statement as each write, so a total is one lookup (or a sum
over the distinct values of the extra field, e.g. the few expiry dates of an owner's
files). Counters are made on first use, filled from the documents in the same
transaction. Documents with a value bson_key cannot rank are not counted; a listing over
such a collection never gets here (ordered.plan falls back to the walk).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.storage.bsonkey import prefix_of
from services.storage.keyterms import Term, key_column

TABLE = "ordered_counts"
_NONE = b""  # the extra field's key in a counter without one


def _name(fields: Sequence[str], extra: str | None) -> str:
    # Field names are checked by ordered.ensure_ordered_index: no quotes, commas or `$`.
    return f"{','.join(fields)}|{extra or ''}"


def total(
    store: Any, fields: Sequence[str], keys: list[bytes], extra: str | None, term: Term | None
) -> int:
    """How many documents have these keys in `fields` and meet `term` on field `extra`.

    `term` is SQL over the column `last` (keyterms.translate with column=lambda _: "last").
    """
    name = _name(fields, extra)
    _ensure(store, name, fields, extra)
    sql = f"SELECT coalesce(sum(n), 0) FROM {TABLE} WHERE counter = ? AND prefix = ?"  # nosec
    args: list[Any] = [name, prefix_of(keys)]
    if term is not None:
        sql, args = f"{sql} AND ({term[0]})", [*args, *term[1]]
    return store._connection.execute(sql, args).fetchone()[0]


def _ensure(store: Any, name: str, fields: Sequence[str], extra: str | None) -> None:
    connection = store._connection
    exists = "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = ?"
    if connection.execute(exists, (f"{name}:insert",)).fetchone():
        return
    table, listed = store.DOCUMENTS, ",".join(fields)
    last = key_column(extra) if extra else f"x'{_NONE.hex()}'"

    def keys(row: str, named: bool = False) -> str:
        prefix = f"bson_prefix({row}.doc, '{listed}')"
        last_key = last.replace("(doc,", f"({row}.doc,")
        return f"{prefix} AS p, {last_key} AS l" if named else f"{prefix}, {last_key}"

    add = (
        f"INSERT INTO {TABLE} SELECT '{name}', {keys('NEW')}, 1 "
        f"WHERE {_known('NEW', listed, extra)} "
        "ON CONFLICT(counter, prefix, last) DO UPDATE SET n = n + 1;"
    )
    match = f"counter = '{name}' AND (prefix, last) = ({keys('OLD')})"
    remove = (
        f"UPDATE {TABLE} SET n = n - 1 WHERE {match}; DELETE FROM {TABLE} WHERE {match} AND n = 0;"
    )
    statements = [
        f"CREATE TABLE IF NOT EXISTS {TABLE} (counter TEXT NOT NULL, prefix BLOB NOT NULL, "
        "last BLOB NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (counter, prefix, last)) "
        "WITHOUT ROWID",
        f"DELETE FROM {TABLE} WHERE counter = '{name}'",
        f"INSERT INTO {TABLE} SELECT '{name}', p, l, count(*) FROM (SELECT "
        f"{keys(table, named=True)} FROM {table} WHERE {_known(table, listed, extra)}) "
        "GROUP BY p, l",
        f'CREATE TRIGGER "{name}:insert" AFTER INSERT ON {table} BEGIN {add} END',
        f'CREATE TRIGGER "{name}:delete" AFTER DELETE ON {table} BEGIN {remove} END',
        f'CREATE TRIGGER "{name}:update" AFTER UPDATE OF doc ON {table} BEGIN {remove} {add} END',
    ]
    # One transaction: no write of another connection falls between the fill and triggers.
    if connection.in_transaction:
        connection.execute("COMMIT")
    connection.execute("BEGIN IMMEDIATE")
    try:
        if not connection.execute(exists, (f"{name}:insert",)).fetchone():
            for statement in statements:
                connection.execute(statement)  # nosec - names are checked field names
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def _known(row: str, listed: str, extra: str | None) -> str:
    """SQL: the row's keys can all be ranked (a counter counts only those)."""
    known = f"bson_prefix({row}.doc, '{listed}') IS NOT NULL"
    if extra:
        known += f" AND bson_key({row}.doc, '{extra}') IS NOT NULL"
    return known
