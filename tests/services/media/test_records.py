"""The media listing on the embedded store: expiry and counts answered by the ordered index."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.core.claims import STORED
from services.media.records import NEWEST_FIRST, MediaRecords
from services.storage import bsonkey, ordered
from services.storage.documents import open_embedded_database


@pytest.fixture
def embedded(tmp_path):
    db = open_embedded_database(tmp_path / "metadata", "media")
    yield db
    db.close()


def _record(number: int, clock, expires_in: int | None) -> dict:
    return {
        "_id": f"m{number:04d}",
        "owner": "alice",
        "state": STORED,
        "created_at": clock() - timedelta(seconds=1000 - number),
        "expires_at": None if expires_in is None else clock() + timedelta(seconds=expires_in),
        "kind": "upload",
        "file_name": f"photo_{number}.png",
        "original_file_name": "p.png",
        "file_type": "image",
        "mime_type": "image/png",
        "file_size": 10,
        "object_name": f"media/x/m{number:04d}",
        "generation": "1",
    }


def test_the_listing_skips_expired_files_and_counts_from_the_index(embedded, clock):
    records = MediaRecords(embedded["media"], clock=clock)
    records.ensure_indexes()
    # Every third file is temporary: expired (-5 s) or not yet (+5 s), alternately.
    embedded["media"].insert_many(
        _record(n, clock, None if n % 3 else (-5 if n % 2 else 5)) for n in range(600)
    )
    connection = embedded["media"]._collection._store._connection
    decoded = []

    def counted(blob, field):
        decoded.append(field)
        return bsonkey.bson_key(blob, field)

    records.page("alice", {}, page=1, size=20)  # makes the total's counter
    connection.create_function("bson_key", 2, counted, deterministic=True)
    found = records.page("alice", {}, page=2, size=20)
    live = [n for n in range(599, -1, -1) if n % 3 or n % 2 == 0]
    assert [item.id for item in found.items] == [f"m{n:04d}" for n in live[20:40]]
    assert found.total_items == len(live)
    assert decoded == []
    query = {"owner": "alice", "state": STORED, "$or": [{"expires_at": None}]}
    assert ordered.plan(embedded["media"]._collection, query, NEWEST_FIRST)[1] == {}


def test_an_index_of_an_earlier_version_is_dropped_with_its_ordered_mirror(embedded, clock):
    old = [("owner", 1), ("state", 1), ("created_at", -1), ("_id", -1)]
    embedded["media"].create_index(old, name="owner_newest")
    MediaRecords(embedded["media"], clock=clock).ensure_indexes()
    assert "owner_newest" not in embedded["media"].index_information()
    connection = embedded["media"]._collection._store._connection
    names = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert "ordered:owner,state,created_at,_id" not in names
    assert "ordered:owner,state,created_at,_id,expires_at" in names
