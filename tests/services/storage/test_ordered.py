"""Ordered indexes on litemongo answer listings exactly as the walk over every match does."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId

from services.storage import bsonkey, ordered
from services.storage.documents import open_embedded_database

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


def _value(rng: random.Random, odd: bool) -> object:
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


def _documents(rng: random.Random, odd: bool) -> list[dict]:
    docs = []
    for number in range(300):
        doc = {"_id": f"d{number:04d}", "size": rng.randrange(5)}
        for field, choices in (("owner", ["a", "b", 1, 1.0, True]), ("state", ["s", "t", 0])):
            if rng.random() < 0.9:
                doc[field] = rng.choice(choices)
        if rng.random() < 0.9:
            doc["created_at"] = _value(rng, odd)
        if rng.random() < 0.5:
            doc["name"] = _value(rng, odd)
        if rng.random() < 0.8:  # filtered on, never indexed
            doc["kind"] = rng.choice(["x", "y", "X", ["x", "z"], [["x"]], 1, None, {"x": 1}])
        docs.append(doc)
    return docs


@pytest.fixture
def pair(tmp_path):
    """The same documents twice: one collection with the ordered indexes, one without."""
    db = open_embedded_database(tmp_path / "metadata", "ordered")
    yield db["indexed"], db["walked"]
    db.close()


def _fill(pair, docs):
    indexed, walked = pair
    indexed.create_index(SPEC, name="listing")
    indexed.create_index([("owner", 1), ("name", 1)], name="owner_name")
    for collection in pair:
        collection.insert_many([dict(doc) for doc in docs])


FILTERS = [
    {"owner": "a", "state": "s"},
    {"owner": 1, "state": 0},
    {"owner": True, "state": "t"},
    {"owner": "b", "state": "s", "size": {"$gte": 2}},
    {"owner": "a", "state": "s", "$or": [{"size": 1}, {"name": None}]},
    {"owner": "a"},
    {"owner": "a", "state": "s", "kind": "x"},
    {"owner": 1, "state": "t", "kind": "y", "size": 2},
]
SORTS = [
    [("created_at", -1), ("_id", -1)],
    [("created_at", 1), ("_id", 1)],
    [("name", 1), ("_id", 1)],
    [("name", -1), ("_id", 1)],
]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("odd", [False, True])
def test_pages_from_the_index_equal_the_walk(pair, seed, odd):
    rng = random.Random(seed)
    _fill(pair, _documents(rng, odd))
    indexed, walked = pair
    for filter in FILTERS:
        for sort in SORTS:
            for skip, limit in ((0, 7), (5, 20), (290, 20)):
                arguments = {"sort": sort, "skip": skip, "limit": limit}
                for projection in (None, {"created_at": 1}):
                    expected = walked.find_page(filter, projection=projection, **arguments)
                    found = indexed.find_page(filter, projection=projection, **arguments)
                    assert repr(found) == repr(expected)  # repr: NaN != NaN


def _assert_same_listing(found: list[dict], expected: list[dict], field: str) -> None:
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


def _tie(value: object) -> str:
    """Equal for values the engine sorts as equal: 0 == 0.0 == -0.0, missing == None."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(float(value) + 0.0)
    return repr(value)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("odd", [False, True])
def test_first_matches_from_the_index_equal_the_walk(pair, seed, odd):
    rng = random.Random(seed)
    _fill(pair, _documents(rng, odd))
    indexed, walked = pair
    for filter in [*FILTERS, {"owner": "a", "state": "s", "name": {"$gt": "a"}}]:
        for sort in [[("name", 1)], [("name", -1)]]:
            for limit in (1, 10, 400):
                arguments = {"sort": sort, "limit": limit, "projection": ["name", "created_at"]}
                found = indexed.find_first(filter, **arguments)
                _assert_same_listing(found, walked.find_first(filter, **arguments), "name")
                assert all(
                    d["created_at"].tzinfo
                    for d in found
                    if "created_at" in d and isinstance(d["created_at"], datetime)
                )


def test_a_listing_on_an_ordered_index_is_read_from_the_index(pair):
    indexed, _ = pair
    _fill(pair, _documents(random.Random(1), odd=False))
    chosen = ordered.plan(indexed._collection, {"owner": "a", "state": "s"}, SPEC[2:])
    assert chosen is not None and chosen[1] == {}
    connection = indexed._collection._store._connection
    plan = connection.execute(
        "EXPLAIN QUERY PLAN SELECT doc FROM documents WHERE bson_key(doc, 'owner') = ? "
        "AND bson_key(doc, 'state') = ? ORDER BY bson_key(doc, 'created_at') DESC, "
        "bson_key(doc, '_id') DESC LIMIT 5",
        (b"", b""),
    ).fetchall()
    assert "USING INDEX ordered:owner,state,created_at,_id" in str(plan)
    assert "TEMP B-TREE" not in str(plan)


def test_a_sort_ending_in_id_is_read_from_the_index_ordering_the_rest(pair):
    indexed, _ = pair
    _fill(pair, _documents(random.Random(3), odd=False))
    sort = [("name", 1), ("_id", 1)]
    assert ordered.plan(indexed._collection, {"owner": "a"}, sort) is not None
    indexed.insert_one({"_id": {"odd": 1}, "owner": "b"})
    assert ordered.plan(indexed._collection, {"owner": "a"}, sort) is None


def test_a_dotted_field_gets_no_ordered_index(pair):
    indexed, walked = pair
    indexed.create_index([("owner", 1), ("meta.rank", 1)], name="nested")
    docs = [{"_id": n, "owner": "a", "meta": {"rank": 5 - n}} for n in range(5)]
    for collection in pair:
        collection.insert_many([dict(doc) for doc in docs])
    sort = [("meta.rank", 1)]
    assert ordered.plan(indexed._collection, {"owner": "a"}, sort) is None
    assert indexed.find_first({"owner": "a"}, sort=sort, limit=2, projection=[]) == [
        {"_id": 4},
        {"_id": 3},
    ]


def test_an_odd_value_in_an_indexed_field_falls_back_to_the_walk(pair):
    indexed, _ = pair
    _fill(pair, _documents(random.Random(2), odd=False))
    assert ordered.plan(indexed._collection, {"owner": "a", "state": "s"}, SPEC[2:])
    indexed.insert_one({"_id": "array", "owner": ["a", "b"], "state": "s"})
    assert ordered.plan(indexed._collection, {"owner": "a", "state": "s"}, SPEC[2:]) is None
    page, total = indexed.find_page({"owner": "a", "state": "s"}, sort=SPEC[2:], skip=0, limit=500)
    assert "array" in [doc["_id"] for doc in page] and total == len(page)


def test_another_process_without_the_functions_cannot_write_an_indexed_file(pair, tmp_path):
    indexed, _ = pair
    indexed.create_index(SPEC, name="listing")
    indexed.insert_one({"_id": "x", "owner": "a"})
    # Why every connection must be opened through the adapter (the CLI is).
    plain = sqlite3.connect(tmp_path / "metadata" / "ordered" / "indexed")
    with pytest.raises(sqlite3.OperationalError, match="bson_key|bson_odd"), plain:
        plain.execute("UPDATE documents SET doc = doc")
    plain.close()


def test_the_store_reopened_keeps_answering_from_its_ordered_indexes(tmp_path):
    db = open_embedded_database(tmp_path / "metadata", "ordered")
    db["files"].create_index(SPEC, name="listing")
    db["files"].insert_many(
        [
            {"_id": f"f{n}", "owner": "a", "state": "s", "created_at": BASE + timedelta(n)}
            for n in range(5)
        ]
    )
    db.close()
    db = open_embedded_database(tmp_path / "metadata", "ordered")
    page, total = db["files"].find_page(
        {"owner": "a", "state": "s"}, sort=SPEC[2:], skip=1, limit=2
    )
    assert [doc["_id"] for doc in page] == ["f3", "f2"] and total == 5
    assert ordered.plan(db["files"]._collection, {"owner": "a", "state": "s"}, SPEC[2:])
    db.close()


FILTERED = [("owner", 1), ("state", 1), ("created_at", -1), ("_id", -1), ("name", 1)]
LATER = BASE + timedelta(microseconds=1500)
TRAILING_FILTERS = [
    {"owner": "a", "state": "s", "$or": [{"name": None}, {"name": {"$gt": BASE}}]},
    {"owner": "a", "state": "s", "name": {"$gte": "a", "$lt": "z"}},
    {"owner": "b", "state": "s", "name": {"$lte": 2.5}},
    {"owner": "a", "state": "t", "name": {"$gt": LATER.replace(tzinfo=None)}},
    {"owner": "a", "state": "s", "name": None},
    {"owner": "a", "state": "s", "name": "ab"},
    {"owner": "b", "state": "s", "name": BASE},
    {"owner": "a", "state": "s", "created_at": {"$lt": BASE}, "size": 2},
    {"owner": "a", "state": "s", "$or": [{"name": "a"}, {"size": 1}]},
    {"owner": "a", "state": "s", "name": {"$ne": None}},
    {"owner": "a", "state": "s", "name": {"$gt": "a"}},
    {"owner": "b", "state": "s", "name": {"$gte": 0}},
    {"owner": "a", "state": "s", "name": {"$lt": BASE}},
    {"owner": "a", "state": "s", "name": {"$regex": "b"}},
    {"owner": "b", "state": "s", "name": {"$regex": ""}},
    {"owner": "a", "state": "s", "name": {"$regex": "\x0f"}},
    {"owner": "a", "state": "s", "name": {"$regex": "z\x00", "$options": ""}},
    {"owner": "a", "state": "s", "$or": [{"name": {"$regex": "é"}}, {"name": {"$regex": "a"}}]},
    {"owner": "a", "state": "s", "name": {"$regex": "A", "$options": "i"}},
    {"owner": "a", "state": "s", "name": {"$regex": "^a"}},
]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("odd", [False, True])
def test_filters_on_an_index_s_trailing_fields_equal_the_walk(pair, seed, odd):
    indexed, walked = pair
    indexed.create_index(FILTERED, name="listing")
    docs = _documents(random.Random(seed), odd)
    for collection in pair:
        collection.insert_many([dict(doc) for doc in docs])
    for filter in TRAILING_FILTERS:
        for sort in SORTS[:2]:
            for skip, limit in ((0, 7), (3, 20)):
                arguments = {"sort": sort, "skip": skip, "limit": limit}
                expected = walked.find_page(filter, **arguments)
                assert repr(indexed.find_page(filter, **arguments)) == repr(expected), filter
            first = {"sort": sort, "limit": 5, "projection": ["name"]}
            found = indexed.find_first(filter, **first)
            _assert_same_listing(found, walked.find_first(filter, **first), "created_at")


def test_a_filter_on_indexed_fields_is_answered_without_decoding_documents(pair):
    indexed, _ = pair
    indexed.create_index(FILTERED, name="listing")
    indexed.insert_many(
        {
            "_id": f"f{n:03d}",
            "owner": "a",
            "state": "s",
            "created_at": BASE + timedelta(seconds=n),
            **({"name": BASE + timedelta(seconds=n % 7 - 3)} if n % 3 else {}),
        }
        for n in range(300)
    )
    filter = {"owner": "a", "state": "s", "$or": [{"name": None}, {"name": {"$gt": BASE}}]}
    sort = [("created_at", -1), ("_id", -1)]
    chosen = ordered.plan(indexed._collection, filter, sort)
    assert chosen is not None and chosen[0].extra is not None and chosen[1] == {}
    calls = []
    connection = indexed._collection._store._connection

    def counted(blob, field):
        calls.append(field)
        return bsonkey.bson_key(blob, field)

    indexed.find_page(filter, sort=sort, skip=0, limit=20)  # makes the total's counter
    connection.create_function("bson_key", 2, counted, deterministic=True)
    page, total = indexed.find_page(filter, sort=sort, skip=0, limit=20)
    expected = [n for n in range(299, -1, -1) if n % 3 == 0 or n % 7 - 3 > 0]
    assert [doc["_id"] for doc in page] == [f"f{n:03d}" for n in expected[:20]]
    assert total == len(expected)
    assert calls == []


def _change(rng: random.Random, odd: bool) -> dict:
    field = rng.choice(["owner", "state", "created_at", "name"])
    choices = {"owner": ["a", "b", 1], "state": ["s", "t"]}.get(field)
    return {"$set": {field: rng.choice(choices) if choices else _value(rng, odd)}}


def _write(rng: random.Random, collection, odd: bool, number: int) -> None:
    """One write of each kind litemongo knows, chosen by `rng` (the same on both sides)."""
    target = {"_id": f"d{rng.randrange(320):04d}"}
    kind = rng.randrange(8)
    if kind == 0:
        collection.insert_one({"_id": f"n{number}", "owner": "a", "state": "s", "name": None})
    elif kind == 1:
        collection.update_one(target, _change(rng, odd))
    elif kind == 2:
        collection.replace_one(target, {"owner": "b", "state": "s", "created_at": BASE})
    elif kind == 3:
        collection.delete_one(target)
    elif kind == 4:
        collection.update_many({"owner": rng.choice(["a", "b"])}, _change(rng, odd))
    elif kind == 5:
        collection.find_one_and_update(target, {"$unset": {"name": ""}})
    elif kind == 6:
        collection.update_one(target, {"$set": {"state": "s"}}, upsert=True)
    else:
        collection.delete_many({"size": rng.randrange(40)})


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("odd", [False, True])
def test_counted_totals_follow_every_kind_of_write(pair, seed, odd):
    indexed, walked = pair
    indexed.create_index(FILTERED, name="listing")
    rng = random.Random(seed)
    docs = _documents(rng, odd=False)
    for collection in pair:
        collection.insert_many([dict(doc) for doc in docs])
    sort = SORTS[0]
    for number in range(120):
        state = rng.getstate()
        for collection in pair:
            rng.setstate(state)
            _write(rng, collection, odd, number)
        if number % 10 == 0:
            for filter in TRAILING_FILTERS[:7]:
                expected = walked.find_page(filter, sort=sort, skip=0, limit=5)
                found = indexed.find_page(filter, sort=sort, skip=0, limit=5)
                assert repr(found) == repr(expected)  # repr: NaN != NaN
    connection = indexed._collection._store._connection
    assert connection.execute("SELECT count(*) FROM ordered_counts WHERE n <= 0").fetchone() == (0,)
    indexed.drop()
    walked.drop()
    assert indexed.find_page({"owner": "a", "state": "s"}, sort=sort, skip=0, limit=5) == ([], 0)


def test_answers_are_kept_only_while_the_file_is_unchanged(pair, tmp_path):
    indexed, _ = pair
    indexed.create_index(FILTERED, name="listing")
    indexed.insert_many(
        {"_id": f"f{n}", "owner": "a", "state": "s", "name": "ab"} for n in range(5)
    )
    # Conditions on two of the index's fields: no counter gives the total, a count does.
    either = [{"name": {"$regex": "b"}}, {"created_at": {"$lt": BASE}}]
    search = {"owner": "a", "state": "s", "$or": either}
    sort = [("created_at", -1), ("_id", -1)]
    chosen = ordered.plan(indexed._collection, search, sort)
    assert chosen is not None and chosen[1] == {} and chosen[0].tally is None

    def total(search: dict) -> int:
        return indexed.find_page(search, sort=sort, skip=0, limit=1)[1]

    assert total(search) == 5
    statements: list[str] = []
    indexed._collection._store._connection.set_trace_callback(statements.append)
    assert total(search) == 5
    assert not [sql for sql in statements if "count(*)" in sql]  # kept
    indexed.insert_one({"_id": "g", "owner": "a", "state": "s", "name": "b"})
    assert total(search) == 6  # this connection's write
    other = open_embedded_database(tmp_path / "metadata", "ordered")
    other["indexed"].delete_many({"name": "ab"})
    assert total(search) == 1  # another connection's commit
    other["indexed"].update_one({"_id": "g"}, {"$set": {"name": "a"}})
    assert total(search) == 0
    assert ordered.plan(indexed._collection, search, sort) is not None
    other["indexed"].insert_one({"_id": "odd", "owner": "a", "state": ["s"]})
    assert ordered.plan(indexed._collection, search, sort) is None  # not exact any more
    other.close()
