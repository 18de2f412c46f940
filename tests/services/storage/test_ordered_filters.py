"""Filters on an ordered index's trailing fields, counted totals and kept answers equal the walk."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from services.storage import bsonkey, ordered
from services.storage.documents import open_embedded_database
from tests.services.storage.ordered_data import (
    BASE,
    SORTS,
    assert_same_listing,
    documents,
    value,
)

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
    docs = documents(random.Random(seed), odd)
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
            assert_same_listing(found, walked.find_first(filter, **first), "created_at")


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
    return {"$set": {field: rng.choice(choices) if choices else value(rng, odd)}}


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
    docs = documents(rng, odd=False)
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
