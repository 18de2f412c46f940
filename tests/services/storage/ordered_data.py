"""Documents and checks the ordered-index contract tests share: values of every kind."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from bson import ObjectId

SPEC = [("owner", 1), ("state", 1), ("created_at", -1), ("_id", -1)]
PLAIN = [
    "a",
    "b",
    "ab",
    "",
    "é",
    "z\x00",
    "\x0fb",
    0,
    1,
    1.0,
    -0.0,
    0.0,
    2.5,
    -3,
    2**40,
    True,
    False,
]
ODD = [[], ["a"], {"k": 1}, b"x", float("nan"), 2**60, None]
BASE = datetime(2026, 1, 1, tzinfo=UTC)


def value(rng: random.Random, odd: bool) -> object:
    kind = rng.randrange(10)
    if kind < 5:
        return rng.choice(PLAIN)
    if kind < 7:
        return BASE + timedelta(milliseconds=rng.randrange(-5, 5) * 1000)
    if kind == 7:
        return ObjectId(f"{rng.randrange(16**24):024x}")
    if kind == 8 and odd:
        return rng.choice(ODD)
    return None


def documents(rng: random.Random, odd: bool) -> list[dict]:
    docs = []
    for number in range(300):
        doc = {"_id": f"d{number:04d}", "size": rng.randrange(5)}
        for field, choices in (("owner", ["a", "b", 1, 1.0, True]), ("state", ["s", "t", 0])):
            if rng.random() < 0.9:
                doc[field] = rng.choice(choices)
        if rng.random() < 0.9:
            doc["created_at"] = value(rng, odd)
        if rng.random() < 0.5:
            doc["name"] = value(rng, odd)
        if rng.random() < 0.8:  # filtered on, never indexed
            doc["kind"] = rng.choice(["x", "y", "X", ["x", "z"], [["x"]], 1, None, {"x": 1}])
        docs.append(doc)
    return docs


SORTS = [
    [("created_at", -1), ("_id", -1)],
    [("created_at", 1), ("_id", 1)],
    [("name", 1), ("_id", 1)],
    [("name", -1), ("_id", 1)],
]


def assert_same_listing(found: list[dict], expected: list[dict], field: str) -> None:
    """Same keys in the same order, the same documents; ties (equal keys) in any order.

    Neither MongoDB nor the walk's bounded heap promises an order among ties, nor which
    of a tie group straddling the limit are kept.
    """
    keys = [_tie(doc.get(field)) for doc in found]
    assert keys == [_tie(doc.get(field)) for doc in expected]
    settled = [doc for doc in found if keys and _tie(doc.get(field)) != keys[-1]]
    assert sorted(map(repr, settled)) == sorted(
        repr(doc) for doc in expected if _tie(doc.get(field)) != keys[-1]
    )


def _tie(found: object) -> str:
    """Equal for values the engine sorts as equal: 0 == 0.0 == -0.0, missing == None."""
    if isinstance(found, int | float) and not isinstance(found, bool):
        return repr(float(found) + 0.0)
    return repr(found)
