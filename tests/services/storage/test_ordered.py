"""Ordered indexes on litemongo answer listings exactly as the walk over every match does."""

from __future__ import annotations

import random
import sqlite3
from datetime import datetime, timedelta

import pytest

from services.storage import ordered
from services.storage.documents import open_embedded_database
from tests.services.storage.ordered_data import (
    BASE,
    SORTS,
    SPEC,
    assert_same_listing,
    documents,
)


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


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("odd", [False, True])
def test_pages_from_the_index_equal_the_walk(pair, seed, odd):
    rng = random.Random(seed)
    _fill(pair, documents(rng, odd))
    indexed, walked = pair
    for filter in FILTERS:
        for sort in SORTS:
            for skip, limit in ((0, 7), (5, 20), (290, 20)):
                arguments = {"sort": sort, "skip": skip, "limit": limit}
                for projection in (None, {"created_at": 1}):
                    expected = walked.find_page(filter, projection=projection, **arguments)
                    found = indexed.find_page(filter, projection=projection, **arguments)
                    assert repr(found) == repr(expected)  # repr: NaN != NaN


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("odd", [False, True])
def test_first_matches_from_the_index_equal_the_walk(pair, seed, odd):
    rng = random.Random(seed)
    _fill(pair, documents(rng, odd))
    indexed, walked = pair
    for filter in [*FILTERS, {"owner": "a", "state": "s", "name": {"$gt": "a"}}]:
        for sort in [[("name", 1)], [("name", -1)]]:
            for limit in (1, 10, 400):
                arguments = {"sort": sort, "limit": limit, "projection": ["name", "created_at"]}
                found = indexed.find_first(filter, **arguments)
                assert_same_listing(found, walked.find_first(filter, **arguments), "name")
                assert all(
                    d["created_at"].tzinfo
                    for d in found
                    if "created_at" in d and isinstance(d["created_at"], datetime)
                )


def test_a_listing_on_an_ordered_index_is_read_from_the_index(pair):
    indexed, _ = pair
    _fill(pair, documents(random.Random(1), odd=False))
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
    _fill(pair, documents(random.Random(3), odd=False))
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
    _fill(pair, documents(random.Random(2), odd=False))
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
