"""A filter's conditions on an ordered index's fields, as SQL over the index's key columns.

SQLite answers a term on `bson_key(doc, 'field')` from an index holding that expression,
without calling the function, so a condition on an indexed field costs an index read, not
a decode per document. Only conditions whose meaning the keys carry exactly are turned into
SQL: equality with null (missing or null), a string, a date or an ObjectId; $gt, $gte, $lt
and $lte on a string, number, date or ObjectId (the engine compares only values of the
same type, so each range is kept inside its type's keys); a $regex that is a plain escaped
literal without options (re.escape of some text: the engine's re.search then finds that
text in a string, which is a byte search of its UTF-8 in the key after the type byte); and
an $or of such conditions. Everything else stays with the engine, checked in Python on the
rows the index yields.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from bson import ObjectId

from services.storage.bsonkey import STRING, rank

_RANGES = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
_EQUAL_TYPES = (type(None), str, datetime, ObjectId)
_RANGE_TYPES = (str, int, float, datetime, ObjectId)
_STRINGS = [bytes([STRING]), bytes([STRING + 1])]  # the bounds of every string's key

Term = tuple[str, list[bytes]]


def key_column(name: str) -> str:
    """A field's key as the ordered indexes hold it (field names never hold quotes)."""
    return f"bson_key(doc, '{name}')"


def translate(
    filter: Mapping[str, Any],
    fields: Sequence[str],
    column: Callable[[str], str] = key_column,
) -> tuple[Term | None, dict[str, Any]]:
    """The SQL term for the conditions on `fields` (None: none) and the filter left over.

    `column` names the SQL expression holding a field's key.
    """
    terms: list[Term] = []
    left: dict[str, Any] = {}
    for name, condition in filter.items():
        if name == "$or":
            term = _any_of(condition, fields, column)
        else:
            term = _field(name, condition, fields, column)
        if term is None:
            left[name] = condition
        else:
            terms.append(term)
    return _joined(terms, " AND "), left


def _joined(terms: list[Term], operator: str) -> Term | None:
    if not terms:
        return None
    sql = operator.join(f"({sql})" for sql, _ in terms)
    return sql, [arg for _, args in terms for arg in args]


def _any_of(branches: Any, fields: Sequence[str], column: Callable[[str], str]) -> Term | None:
    """An $or whose every branch is wholly translatable."""
    if not isinstance(branches, list) or not branches:
        return None
    terms = []
    for branch in branches:
        if not isinstance(branch, dict) or not branch:
            return None
        term, left = translate(branch, fields, column)
        if left or term is None:
            return None
        terms.append(term)
    return _joined(terms, " OR ")


def _field(
    name: str, condition: Any, fields: Sequence[str], column: Callable[[str], str]
) -> Term | None:
    if name not in fields:
        return None
    if isinstance(condition, dict):
        if "$regex" in condition:
            return _contains(column(name), condition)
        return _ranges(column(name), condition)
    if not isinstance(condition, _EQUAL_TYPES):
        return None
    key = rank(condition)
    return None if key is None else (f"{column(name)} = ?", [key])


def _ranges(column: str, condition: dict[str, Any]) -> Term | None:
    if not condition or any(operator not in _RANGES for operator in condition):
        return None
    clauses, args = [], []
    for operator, operand in condition.items():
        if isinstance(operand, bool) or not isinstance(operand, _RANGE_TYPES):
            return None
        key = rank(operand)
        if key is None:
            return None
        # Type bracketing: the keys of the operand's type are those starting with its byte,
        # so a lower bound needs the type's end and an upper bound its start.
        above = operator in ("$gt", "$gte")
        clauses += [f"{column} {_RANGES[operator]} ?", f"{column} {'<' if above else '>='} ?"]
        args += [key, bytes([key[0] + 1]) if above else key[:1]]
    return " AND ".join(clauses), args


def _contains(column: str, condition: dict[str, Any]) -> Term | None:
    """A literal $regex: a string whose text holds the literal (the engine's re.search)."""
    if set(condition) - {"$regex", "$options"} or condition.get("$options", "") != "":
        return None
    pattern = condition["$regex"]
    text = _literal(pattern) if isinstance(pattern, str) else None
    if text is None:
        return None
    # UTF-8 is self-synchronising: a byte match after the type byte is a match of the text.
    # A text that cannot start with the type byte cannot match on it: the key is searched
    # whole, which spares SQLite a copy of every key.
    strings = f"{column} >= ? AND {column} < ?"
    literal = text.encode("utf-8", "surrogatepass")
    if literal.startswith(bytes([STRING])):
        return f"{strings} AND instr(substr({column}, 2), ?) > 0", [*_STRINGS, literal]
    return f"{strings} AND instr({column}, ?) > 0", [*_STRINGS, literal]


def _literal(pattern: str) -> str | None:
    """The text a pattern matches when it is nothing but re.escape(text), else None."""
    chars, escaped = [], False
    for char in pattern:
        if escaped or char != "\\":
            chars.append(char)
        escaped = not escaped and char == "\\"
    text = "".join(chars)
    return text if not escaped and re.escape(text) == pattern else None
