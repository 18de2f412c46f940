"""litemongo's candidate lookups answered by SQLite indexes find what the walk finds."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
from bson import Code, Decimal128, Int64, MaxKey, MinKey, ObjectId, Regex, Timestamp

from services.storage import lookups
from services.storage.documents import open_embedded_database

MISSING = object()
WHEN = datetime(2026, 1, 2, 3, 4, 5, 678000)
OID = ObjectId("65a1b2c3d4e5f60718293a4b")
# Values a document's field may hold: every type the keys rank, their lookalikes, and the
# values they cannot rank (which must be candidates of every lookup on the field).
STORED = [
    *(None, True, False, 0, 1, 1.0, 0.0, -0.0, 2, 2.5, -7, Int64(1), Int64(3)),
    *(2**53, 2**53 + 1, 2**60, float("nan"), float("inf"), float("-inf")),
    *("", "a", "1", "True", "é", "a\x00b", OID, ObjectId("65a1b2c3d4e5f60718293a4c")),
    *(WHEN, WHEN.replace(tzinfo=UTC), WHEN + timedelta(seconds=1)),
    *(Decimal128("1"), Decimal128("NaN"), b"a", [], [1], ["a", 2], [[1]], [None], [True]),
    *({}, {"a": 1}, Regex("a"), Code("a"), Timestamp(1, 1), MinKey(), MaxKey(), MISSING),
]
# Values a query may ask a field to equal: the plannable ones and some that are not.
ASKED = [
    *(None, True, False, 0, 1, 1.0, 0.0, 2, 2.0, 2.5, -7, 7, Int64(3), 2**53, 2**53 + 1),
    2**60,
    *(float("nan"), float("inf"), "", "a", "1", "é", "zz", OID, Decimal128("1"), b"a"),
    *(WHEN, WHEN.replace(tzinfo=UTC), WHEN.replace(tzinfo=timezone(timedelta(hours=2)))),
    WHEN + timedelta(microseconds=300),
]
# No date: litemongo cannot delete a document by a date _id it decoded (its key differs).
IDS = ["d1", "d2", 2, 3.0, True, OID, "", Int64(7), -1]


def _documents(rng: random.Random) -> list[dict]:
    docs = []
    for number in range(240):
        doc: dict = {"_id": IDS[number] if number < len(IDS) else f"n{number}"}
        for field in ("v", "w", "x"):
            value = rng.choice(STORED)
            if value is not MISSING:
                doc[field] = value
        docs.append(doc)
    return docs


@pytest.fixture
def store(tmp_path):
    db = open_embedded_database(tmp_path / "metadata", "lookups")
    yield db
    db.close()


def _fill(collection, docs: list[dict]) -> None:
    collection.create_index("v", name="v")
    collection.create_index([("w", 1), ("v", -1)], name="w_v")
    if docs:
        collection.insert_many([dict(doc) for doc in docs])


def _walk(collection, filter: dict) -> str:
    """The ids of the documents the engine matches, looking at every one in natural order."""
    engine = collection._collection
    spec = _engine(engine).helpers.patch_datetime_awareness_in_document(dict(filter))
    every = engine._store.documents
    return _ids(doc for doc in every if _engine(engine).filtering.filter_applies(spec, doc))


def _ids(docs) -> str:
    """The documents' ids, comparable (dates as the store keeps them, NaN by its repr)."""
    return repr([_naive(doc["_id"]) for doc in docs])


def _naive(value):
    return value.replace(tzinfo=None) if isinstance(value, datetime) else value


def _engine(collection):
    import importlib

    return importlib.import_module(type(collection).__module__.rsplit(".", 1)[0])


def _filters(rng: random.Random) -> list[dict]:
    filters = []
    for asked in ASKED:
        other = rng.choice(ASKED)
        filters += [
            {"v": asked},
            {"v": {"$eq": asked}},
            {"v": {"$in": [asked, other]}},
            {"w": asked},
            {"w": asked, "v": other},
            {"$and": [{"w": {"$in": [asked]}}, {"v": other}]},
            {"x": asked},
            {"_id": asked},
            {"_id": {"$in": [asked, rng.choice(IDS)]}},
            {"_id": rng.choice(IDS), "v": asked},
        ]
    filters += [{"_id": id_} for id_ in IDS] + [{"v": {"$in": []}}, {"_id": {"$in": []}}]
    return filters


@pytest.mark.parametrize("seed", range(3))
def test_lookups_find_what_the_walk_finds(store, seed):
    rng = random.Random(seed)
    docs = store["docs"]
    _fill(docs, _documents(rng))
    for filter in _filters(rng):
        found = docs.find(filter)
        assert _ids(found) == _walk(docs, filter), filter
        assert docs.count_documents(filter) == len(found)


def _change(rng: random.Random) -> dict:
    field = rng.choice(["v", "w", "x"])
    value = rng.choice(STORED)
    return {"$unset": {field: ""}} if value is MISSING else {"$set": {field: value}}


def _write(rng: random.Random, collection, number: int) -> None:
    """One write of each kind, its filter on an indexed field, _id or neither."""
    target = rng.choice(
        [{"_id": rng.choice(IDS)}, {"v": rng.choice(ASKED)}, {"w": {"$in": rng.sample(ASKED, 3)}}]
    )
    kind = rng.randrange(6)
    if kind == 0:
        collection.insert_one({"_id": f"i{number}", "v": rng.choice(ASKED)})
    elif kind == 1:
        collection.update_one(target, _change(rng))
    elif kind == 2:
        collection.update_many(target, _change(rng))
    elif kind == 3:
        collection.delete_one(target)
    elif kind == 4:
        collection.find_one_and_update(target, _change(rng))
    else:
        collection.delete_many(target)


@pytest.mark.parametrize("seed", range(3))
def test_writes_through_lookups_leave_what_writes_through_the_walk_leave(store, seed):
    indexed, walked = store["indexed"], store["walked"]
    docs = _documents(random.Random(seed))
    _fill(indexed, docs)
    walked.insert_many([dict(doc) for doc in docs])
    for number in range(150):
        for collection in (indexed, walked):
            _write(random.Random(seed * 1000 + number), collection, number)
    assert repr(list(indexed.find({}))) == repr(list(walked.find({})))


def test_the_store_keeps_no_index_of_its_documents_in_memory(store):
    docs = store["docs"]
    _fill(docs, _documents(random.Random(0)))
    for filter in _filters(random.Random(0)):
        docs.find_one(filter)
        docs.update_many(filter, {"$set": {"seen": True}})
    assert docs._collection._store._query_index is None


@pytest.mark.parametrize(
    ("filter", "index"),
    [
        ({"v": "a"}, "keyed:v"),
        ({"v": {"$in": [1, "a"]}, "x": 2}, "keyed:v"),
        ({"w": True}, "ordered:w,v"),
        ({"$and": [{"w": None}]}, "ordered:w,v"),
        ({"_id": "d1", "v": "a"}, "sqlite_autoindex_documents_1"),
    ],
)
def test_an_equality_on_an_indexed_field_reads_an_index(store, filter, index):
    docs = store["docs"]
    _fill(docs, _documents(random.Random(0)))
    sqlite_store = docs._collection._store
    where, args = lookups.plan(sqlite_store, filter)
    plan = sqlite_store._connection.execute(
        f"EXPLAIN QUERY PLAN SELECT rowid FROM documents WHERE {where}", args
    ).fetchall()
    assert f"INDEX {index} " in str(plan)
    assert "SCAN documents" not in str(plan)


@pytest.mark.parametrize(
    "filter",
    [
        {"x": "a"},  # no index
        {"v.k": "a"},  # a dotted path
        {"v": [1]},  # an array, compared whole or by element
        {"v": {"$gt": 1}},
        {"v": b"a"},  # bytes: no key
        {"v": float("nan")},
        {"v": 2**60},
        {"v": {"k": 1}},
        {"$or": [{"v": 1}, {"v": 2}]},
        {"_id": WHEN},  # a date _id's store key depends on how it was written
    ],
)
def test_what_the_keys_cannot_answer_is_left_to_the_walk(store, filter):
    docs = store["docs"]
    _fill(docs, [])
    assert lookups.plan(docs._collection._store, filter) is None


def test_key_indexes_follow_create_and_drop_index(store):
    docs = store["docs"]

    def names() -> set[str]:
        rows = docs._collection._store._connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index'"
        )
        return {name for (name,) in rows if ":" in name}

    docs.create_index("v", name="v")
    docs.create_index([("w", 1), ("v", 1)], name="w_v", sparse=True)  # no ordered index
    docs.create_index([("v", 1), ("x", 1)], name="v_x")
    docs.create_index([("a.b", 1)], name="dotted")
    assert names() == {"keyed:v", "keyed:w", "ordered:v,x", "ordered:v,x:odd"}
    docs.drop_index("w_v")
    docs.drop_index("v_x")
    assert names() == {"keyed:v"}
    docs.drop_index("v")
    assert names() == set()


def test_a_reopened_store_keeps_answering_from_its_indexes(tmp_path):
    db = open_embedded_database(tmp_path / "metadata", "lookups")
    _fill(db["docs"], _documents(random.Random(5)))
    db.close()
    reopened = open_embedded_database(tmp_path / "metadata", "lookups")
    try:
        docs = reopened["docs"]
        assert lookups.plan(docs._collection._store, {"v": "a"}) is not None
        for filter in _filters(random.Random(5))[:60]:
            assert _ids(docs.find(filter)) == _walk(docs, filter)
    finally:
        reopened.close()
