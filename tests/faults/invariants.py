"""What must hold after any fault, once the stores answer again and housekeeping has run."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

# Collections that mention objects without owning them: an event about a file is no record.
NOT_RECORDS = {"outbox", "processed_messages"}
COUNTED = ("stored", "deleting")  # states whose bytes are still on the owner's account


def local_objects(root: Path) -> set[str]:
    """Object names the local store holds (one visible file each; in-progress writes are hidden)."""
    return {
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(root).parts)
    }


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def mentioned(database: Any, collections: Iterable[str]) -> set[str]:
    """Every string (value or key) in every record of the collections."""
    found: set[str] = set()
    for name in collections:
        if name not in NOT_RECORDS:
            for doc in database[name].find({}):
                found.update(_strings(doc))
    return found


def record_ids(database: Any, collections: Iterable[str]) -> set[str]:
    """The ids of every record of the collections."""
    return {
        str(doc["_id"])
        for name in collections
        if name not in NOT_RECORDS
        for doc in database[name].find({}, {"_id": 1})
    }


def assert_no_orphans(database: Any, collections: Iterable[str], objects: set[str]) -> None:
    """Every object in the bucket is named by a record, or lives under a record's id."""
    collections = list(collections)
    named, ids = mentioned(database, collections), record_ids(database, collections)
    orphans = {
        name for name in objects if name not in named and not ids.intersection(name.split("/")[:-1])
    }
    assert not orphans, f"objects no record names: {sorted(orphans)}"


def assert_records_have_objects(database: Any, objects: set[str]) -> None:
    """Every stored video and media file still has its object (a record is never left empty)."""
    for name in ("files", "media"):
        for doc in database[name].find({"state": "stored"}):
            assert doc["object_name"] in objects, f"{name} {doc['_id']} lost its object"


def assert_accounts_balance(database: Any) -> None:
    """Each account's used bytes are its charged files plus its live holds, never negative."""
    for account in database["accounts"].find({}):
        owner = account["_id"]
        videos = sum(
            doc.get("size", 0)
            for doc in database["files"].find({"owner": owner, "state": {"$in": list(COUNTED)}})
        )
        media = sum(
            doc.get("file_size", 0)
            for doc in database["media"].find(
                {"owner": owner, "charged": True, "state": {"$in": list(COUNTED)}}
            )
        )
        held = sum(hold["bytes"] for hold in (account.get("holds") or {}).values())
        assert account["used_bytes"] == videos + media + held, (
            f"{owner}: used {account['used_bytes']} != videos {videos} + media {media}"
            f" + holds {held}"
        )
        assert all(n >= 0 for n in (account.get("bandwidth") or {}).values()), account


def assert_outbox_delivered(database: Any) -> None:
    """Every event recorded was delivered (none pending, none dead)."""
    stuck = [(doc["_id"], doc["state"]) for doc in database["outbox"].find({})]
    stuck = [entry for entry in stuck if entry[1] != "delivered"]
    assert not stuck, f"events not delivered: {stuck}"


def assert_no_claims_outlive_their_lease(database: Any, now: Any) -> None:
    """No upload claim is still `uploading` past its lease (housekeeping has reclaimed it)."""
    for name in ("files", "media"):
        late = list(database[name].find({"state": "uploading", "lease_until": {"$lt": now}}))
        assert not late, f"{name}: abandoned claims left: {[doc['_id'] for doc in late]}"
