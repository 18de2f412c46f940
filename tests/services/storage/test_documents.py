"""The metadata-store contract, run against every embedded implementation."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import mongomock
import pymongo
import pytest
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from services.core.errors import StorageUnavailable
from services.core.paging import paginate
from services.storage.documents import (
    MongoCollection,
    MongoDatabase,
    open_embedded_database,
)
from tests.fixtures.engines import ENGINES, engine_database


@pytest.fixture(params=ENGINES)
def database(request, tmp_path):
    db = engine_database(request.param, tmp_path, "contract")
    yield db
    db.close()


def test_unique_index_refuses_duplicates(database):
    files = database["files"]
    files.create_index([("owner", 1), ("filename", 1)], unique=True)
    files.insert_one({"owner": "a", "filename": "x"})
    files.insert_one({"owner": "b", "filename": "x"})
    with pytest.raises(DuplicateKeyError):
        files.insert_one({"owner": "a", "filename": "x"})


def test_conditional_increment_is_atomic_across_threads(database):
    counters = database["counters"]
    counters.insert_one({"_id": "c", "n": 0})

    def bump():
        for _ in range(40):
            counters.find_one_and_update({"_id": "c", "n": {"$lte": 99}}, {"$inc": {"n": 1}})

    threads = [threading.Thread(target=bump) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counters.find_one({"_id": "c"})["n"] == 100


def test_not_greater_than_matches_a_missing_field(database):
    docs = database["docs"]
    docs.insert_one({"_id": 1, "daily": {}})
    updated = docs.find_one_and_update(
        {"_id": 1, "daily.2026-11-21": {"$not": {"$gt": 10}}},
        {"$inc": {"daily.2026-11-21": 10}},
        return_document=ReturnDocument.AFTER,
    )
    assert updated["daily"] == {"2026-11-21": 10}
    assert (
        docs.find_one_and_update(
            {"_id": 1, "daily.2026-11-21": {"$not": {"$gt": 9}}}, {"$inc": {"daily.2026-11-21": 1}}
        )
        is None
    )


def test_upsert_with_set_on_insert_keeps_existing_values(database):
    docs = database["docs"]
    for email in ("first@example.com", "second@example.com"):
        docs.update_one(
            {"_id": "u"}, {"$setOnInsert": {"quota": 5}, "$set": {"email": email}}, upsert=True
        )
    docs.update_one({"_id": "u"}, {"$inc": {"quota": 1}})
    docs.update_one({"_id": "u"}, {"$setOnInsert": {"quota": 5}}, upsert=True)
    assert docs.find_one({"_id": "u"}) == {"_id": "u", "quota": 6, "email": "second@example.com"}


def test_find_accepts_sort_limit_and_projection_keywords(database):
    docs = database["docs"]
    docs.insert_many([{"name": n, "k": i} for i, n in enumerate("cab")])
    found = docs.find({}, {"_id": 0, "name": 1}, sort=[("name", 1)], limit=2)
    assert list(found) == [{"name": "a"}, {"name": "b"}]


def test_find_one_and_delete_has_one_winner(database):
    docs = database["docs"]
    docs.insert_one({"_id": "claim", "state": "uploading"})
    winners = []

    def take():
        winners.append(docs.find_one_and_delete({"_id": "claim"}))

    threads = [threading.Thread(target=take) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len([w for w in winners if w is not None]) == 1


def test_ping_succeeds(database):
    database.ping()


def test_litemongo_store_survives_reopening(tmp_path):
    first = open_embedded_database(tmp_path / "m", "db")
    first["docs"].create_index([("k", 1)], unique=True)
    first["docs"].insert_one({"_id": 1, "k": "v"})
    first.close()
    second = open_embedded_database(tmp_path / "m", "db")
    try:
        assert second["docs"].find_one({"_id": 1}) == {"_id": 1, "k": "v"}
        with pytest.raises(DuplicateKeyError):
            second["docs"].insert_one({"k": "v"})
    finally:
        second.close()


def test_unreachable_mongodb_ping_raises_storage_unavailable():
    client = pymongo.MongoClient(
        "mongodb://127.0.0.1:9", connect=False, serverSelectionTimeoutMS=200
    )
    database = MongoDatabase(client, "x")
    with pytest.raises(StorageUnavailable, match="Metadata store"):
        database.ping()
    database.close()


def test_a_broken_embedded_store_is_an_outage_not_a_crash(tmp_path):
    db = open_embedded_database(tmp_path / "m", "db")
    files = db["files"]
    files.insert_one({"_id": 1})
    db._run(db._closer)  # let it reopen its files on the next call...
    for path in (tmp_path / "m" / "db").iterdir():
        path.write_bytes(b"not sqlite" * 100)  # ...and find them unreadable
    with pytest.raises(StorageUnavailable):
        files.find_one({"_id": 1})


def _listing(collection, count: int = 30) -> None:
    base = datetime(2026, 11, 21, tzinfo=UTC)
    collection.insert_many(
        {
            "_id": f"m{n:03d}",
            "owner": "alice" if n % 3 else "bob",
            "created_at": base + timedelta(minutes=n // 2),  # pairs share a moment: ties
            "size": n,
        }
        for n in range(count)
    )


@pytest.fixture(params=["embedded", "pymongo-api"])
def paged(request, database):
    """The collection both ways: the embedded page walk, and the MongoDB path (find + count)."""
    collection = database["media"]
    _listing(collection)
    if request.param == "embedded":
        return collection
    raw = mongomock.MongoClient(tz_aware=True)["m"]["media"]
    _listing(raw)
    return MongoCollection(raw)


def test_pages_are_in_sort_order_with_a_stable_tie_break_and_counted_totals(paged):
    alices = [f"m{n:03d}" for n in range(30) if n % 3]
    newest_first = sorted(alices, key=lambda i: (-(int(i[1:]) // 2), i))
    seen = []
    for number in (1, 2, 3, 4):
        page = paginate(paged, {"owner": "alice"}, sort=[("created_at", -1)], page=number, size=6)
        assert page.total_items == 20 and page.total_pages == 4
        assert page.has_prev is (number > 1) and page.has_next is (number < 4)
        seen += [doc["_id"] for doc in page.items]
    assert seen == newest_first
    past_the_end = paginate(paged, {"owner": "alice"}, sort=[("size", 1)], page=5, size=6)
    assert past_the_end.items == [] and past_the_end.total_items == 20


def test_a_page_honours_projection_and_keeps_dates_timezone_aware(paged):
    page = paginate(paged, {}, sort=[("size", 1)], page=2, size=5, projection={"size": 1})
    assert [doc["size"] for doc in page.items] == [5, 6, 7, 8, 9]
    assert set(page.items[0]) == {"_id", "size"}
    [doc] = paginate(paged, {"_id": "m001"}, sort=[("size", 1)], page=1, size=1).items
    assert doc["_id"] == "m001"
    full = paginate(paged, {"size": {"$gte": 28}}, sort=[("size", -1)], page=1, size=5)
    assert [d["size"] for d in full.items] == [29, 28]
    assert full.items[0]["created_at"].tzinfo is not None


def test_a_page_of_a_large_collection_matches_a_full_sort(database):
    collection = database["big"]
    collection.insert_many({"_id": n, "n": (n * 7919) % 5003} for n in range(5003))
    page = paginate(collection, {"n": {"$gte": 100}}, sort=[("n", -1)], page=3, size=25)
    expected = sorted(((n * 7919) % 5003 for n in range(5003)), reverse=True)
    assert [doc["n"] for doc in page.items] == [n for n in expected if n >= 100][50:75]
    assert page.total_items == 4903


def test_find_first_is_the_head_of_a_full_sort_with_only_the_projected_fields(paged):
    first = paged.find_first(
        {"owner": "alice"}, sort=[("created_at", -1), ("_id", 1)], limit=4, projection=["size"]
    )
    alices = [n for n in range(30) if n % 3]
    expected = sorted(alices, key=lambda n: (-(n // 2), f"m{n:03d}"))[:4]
    assert [doc["size"] for doc in first] == expected
    assert all(set(doc) == {"_id", "size"} for doc in first)
    assert paged.find_first({"owner": "carol"}, sort=[("size", 1)], limit=3, projection=[]) == []


def test_find_first_returns_copies_with_timezone_aware_dates(database):
    files = database["files"]
    files.insert_one({"_id": "a", "at": datetime(2026, 1, 2, tzinfo=UTC), "tags": ["x"]})
    [doc] = files.find_first({}, sort=[("at", 1)], limit=5, projection=["at", "tags"])
    assert doc["at"] == datetime(2026, 1, 2, tzinfo=UTC) and doc["at"].tzinfo is not None
    doc["tags"].append("changed")
    assert files.find_one({"_id": "a"})["tags"] == ["x"]


def test_find_one_returns_a_copy_like_pymongo(database):
    docs = database["docs"]
    docs.insert_one({"_id": "a", "at": datetime(2026, 1, 2, tzinfo=UTC), "n": {"list": [1]}})
    found = docs.find_one({"_id": "a"})
    assert found == {"_id": "a", "at": datetime(2026, 1, 2, tzinfo=UTC), "n": {"list": [1]}}
    assert found["at"].tzinfo is not None
    found["n"]["list"].append(2)
    assert docs.find_one({"_id": "a"})["n"] == {"list": [1]}
    assert docs.find_one({"_id": "missing"}) is None
    assert docs.find_one({"_id": "a"}, {"n": 1}) == {"_id": "a", "n": {"list": [1]}}


def test_calls_from_many_threads_share_one_embedded_store(tmp_path):
    # Each call runs on its caller's thread: the store must accept every thread, and a
    # thread that never touched it before must see what the others wrote.
    db = open_embedded_database(tmp_path / "metadata", "threads")
    counters = db["counters"]
    counters.insert_one({"_id": "c", "n": 0})
    errors: list[BaseException] = []

    def bump() -> None:
        try:
            for _ in range(25):
                counters.update_one({"_id": "c"}, {"$inc": {"n": 1}})
                counters.find_one({"_id": "c"})
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert counters.find_one({"_id": "c"})["n"] == 100
    db.close()


def test_each_file_of_the_embedded_store_has_a_small_page_cache(tmp_path):
    db = open_embedded_database(tmp_path / "metadata", "cache")
    try:
        for name in ("first", "second"):
            db[name].insert_one({"_id": name})
            connection = db[name]._collection._store._connection
            # Negative: KiB. SQLite's default is -2000; the soak's memory followed it.
            assert connection.execute("PRAGMA cache_size").fetchone()[0] == -256
    finally:
        db.close()
