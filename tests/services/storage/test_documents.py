"""The metadata-store contract, run against every embedded implementation."""

from __future__ import annotations

import threading

import mongomock
import pymongo
import pytest
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from services.core.errors import StorageUnavailable
from services.storage.documents import MongoDatabase, SerializedDatabase, open_embedded_database


@pytest.fixture(params=["mongomock", "litemongo"])
def database(request, tmp_path):
    if request.param == "mongomock":
        db = SerializedDatabase(mongomock.MongoClient(tz_aware=True)["contract"])
    else:
        db = open_embedded_database(tmp_path / "metadata", "contract")
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
    try:
        with pytest.raises(StorageUnavailable):
            files.find_one({"_id": 1})
    finally:
        db._executor.shutdown()
