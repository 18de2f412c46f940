"""Entity documents: the current state of each entity, its versions, and the id counter.

`entities` holds one document per entity, `_id` its integer id, with every Item field as it
is now plus: `version` (the current version's number), `change`, `object_name` (the stored
object of the current file), `files` ({md5: object name} of every file any version refers
to: the objects the entity keeps), `purging` (a hard delete in progress) and
`pending_version` (the current version is not yet copied into `entity_versions`). `md5` is
left out, not null, when the entity holds no file, so the sparse unique index on it only
judges files.

Both also hold `label_folded` and `description_folded`: the label and description case-folded
(str.casefold), kept by this class with every write of them, so that a search is a plain
substring match that MongoDB and the embedded store answer alike, the latter from its index.

`entity_versions` holds one document per version, `_id` "<id>:<version>", with the fields
as they were. `entity_counters` holds the id sequence: ids are never handed out twice.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

ITEM_FIELDS = (
    "is_collection",
    "label",
    "description",
    "parent_id",
    "added_date",
    "updated_date",
    "create_date",
    "file_size",
    "height",
    "width",
    "duration",
    "mime_type",
    "type",
    "extension",
    "md5",
    "file_path",
    "is_deleted",
    "added_by",
    "updated_by",
)
# The fields a file brings with it; a collection has them all null.
FILE_FIELDS = (
    "create_date",
    "file_size",
    "height",
    "width",
    "duration",
    "mime_type",
    "type",
    "extension",
    "md5",
    "file_path",
)
# The searched fields and where each one's case-folded copy is kept.
FOLDED = {"label": "label_folded", "description": "description_folded"}
SNAPSHOT_FIELDS = (*ITEM_FIELDS, *FOLDED.values(), "change", "object_name")
COUNTER_ID = "entities"
FOLDED_MARK = "folded"  # the entity_counters document that says every document has them


def folded(fields: Mapping[str, Any]) -> dict[str, str | None]:
    """The case-folded copies of the searched fields among `fields` (null stays null)."""
    return {
        copy: fields[name].casefold() if isinstance(fields[name], str) else None
        for name, copy in FOLDED.items()
        if name in fields
    }


def item_of(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The Item of an entity or version document: its id and every Item field."""
    entity_id = doc["entity_id"] if "entity_id" in doc else doc["_id"]
    return {"id": entity_id, **{name: doc.get(name) for name in ITEM_FIELDS}}


def version_id(entity_id: int, version: int) -> str:
    return f"{entity_id}:{version}"


class EntityRecords:
    """The three collections of the entity library, one atomic write at a time."""

    def __init__(self, database: Any) -> None:
        self.entities = database["entities"]
        self.versions = database["entity_versions"]
        self.counters = database["entity_counters"]

    def ensure_indexes(self) -> None:
        """Create the indexes the entity queries rely on (idempotent)."""
        self.entities.create_index("md5", unique=True, sparse=True, name="md5_unique")
        for field in ("parent_id", "purging", "pending_version"):
            self.entities.create_index(field, name=field)
        self.versions.create_index("entity_id", name="entity_id")
        # The listings' filter and order, for MongoDB (the embedded stores hash each field).
        # Then the searched copies, so that a search is answered from the index entries.
        searched = [(copy, 1) for copy in FOLDED.values()]
        listing = [("purging", 1), ("is_deleted", 1), ("_id", 1), *searched]
        version_listing = [("version", 1), ("is_deleted", 1), ("entity_id", 1), *searched]
        for collection, keys, old_name, name in (
            (self.entities, listing, "listing", "listing_searched"),
            (self.versions, version_listing, "version_listing", "version_listing_searched"),
        ):
            if old_name in collection.index_information():
                collection.drop_index(old_name)
            collection.create_index(keys, name=name)
        self._fold_older_documents()

    def _fold_older_documents(self) -> None:
        """Give documents written before the folded copies existed theirs (once per store).

        Each is one update, conditional on the label and description it read: when either
        changed meanwhile, the write that changed it brought its own copy.
        """
        if self.counters.find_one({"_id": FOLDED_MARK}) is not None:
            return
        missing = {"label_folded": {"$exists": False}}
        for collection in (self.entities, self.versions):
            for doc in collection.find(missing, {"label": 1, "description": 1}):
                fields = {"label": doc.get("label"), "description": doc.get("description")}
                unchanged = {"_id": doc["_id"], **fields, **missing}
                collection.update_one(unchanged, {"$set": folded(fields)})
        self.counters.update_one({"_id": FOLDED_MARK}, {"$set": {"done": True}}, upsert=True)

    def next_id(self) -> int:
        """A fresh entity id: the counter goes up by one and never comes down."""
        counter = self.counters.find_one_and_update(
            {"_id": COUNTER_ID},
            {"$inc": {"seq": 1}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return int(counter["seq"])

    # The current state.

    def get(self, entity_id: int) -> dict[str, Any] | None:
        """The entity's document, unless it does not exist or is being deleted."""
        return self.entities.find_one({"_id": entity_id, "purging": False})

    def holder_of(self, md5: str) -> int | None:
        """The id of the entity whose current file has this MD5 (soft-deleted included)."""
        doc = self.entities.find_one({"md5": md5}, {"_id": 1})
        return None if doc is None else doc["_id"]

    def holds(self, entity_id: int, object_name: str) -> bool:
        """True when the entity (being deleted or not) keeps the object among its files."""
        doc = self.entities.find_one({"_id": entity_id}, {"files": 1})
        return doc is not None and object_name in doc.get("files", {}).values()

    def insert(self, doc: dict[str, Any]) -> None:
        """Insert a new entity; DuplicateKeyError when its MD5 is held already."""
        self.entities.insert_one({**doc, **folded(doc)})

    def replace_state(
        self, entity_id: int, version: int, changes: dict[str, Any], unset: Iterable[str] = ()
    ) -> dict[str, Any] | None:
        """Move the entity from `version` to the next with `changes`; None if it moved on.

        The new version is marked pending until record_version() has copied it. Raises
        DuplicateKeyError when the changes give it an MD5 another entity holds.
        """
        update: dict[str, Any] = {
            "$set": {**changes, **folded(changes), "version": version + 1, "pending_version": True}
        }
        if unset:
            update["$unset"] = {name: "" for name in unset}
        return self.entities.find_one_and_update(
            {"_id": entity_id, "version": version, "purging": False},
            update,
            return_document=ReturnDocument.AFTER,
        )

    def has_children(self, entity_id: int) -> bool:
        """True when any entity (soft-deleted included) names this one as its parent."""
        child = self.entities.find_one({"parent_id": entity_id, "purging": False}, {"_id": 1})
        return child is not None

    def children_of(self, entity_ids: list[int]) -> list[dict[str, Any]]:
        """The id and kind of every entity whose parent is one of `entity_ids`."""
        return list(
            self.entities.find(
                {"parent_id": {"$in": entity_ids}, "purging": False},
                {"_id": 1, "is_collection": 1},
            )
        )

    # Versions.

    def record_version(self, doc: Mapping[str, Any]) -> None:
        """Copy the entity's current version into its history, then clear the pending mark.

        Safe to repeat: the copy's id is the version's, and the mark is cleared only while
        the entity is still at that version.
        """
        snapshot = {name: doc.get(name) for name in SNAPSHOT_FIELDS}
        snapshot.update(
            _id=version_id(doc["_id"], doc["version"]),
            entity_id=doc["_id"],
            version=doc["version"],
        )
        with contextlib.suppress(DuplicateKeyError):  # copied already (a repeat)
            self.versions.insert_one(snapshot)
        self.entities.update_one(
            {"_id": doc["_id"], "version": doc["version"]}, {"$set": {"pending_version": False}}
        )

    def pending(self) -> list[dict[str, Any]]:
        """Entities whose current version has not been copied into the history yet."""
        return list(self.entities.find({"pending_version": True, "purging": False}))

    def version(self, entity_id: int, version: int) -> dict[str, Any] | None:
        """One recorded version of an entity."""
        return self.versions.find_one({"_id": version_id(entity_id, version)})

    def history(self, entity_id: int) -> list[dict[str, Any]]:
        """Every recorded version of an entity, oldest first."""
        return list(
            self.versions.find(
                {"entity_id": entity_id},
                {"version": 1, "updated_date": 1, "updated_by": 1, "change": 1},
                sort=[("version", 1)],
            )
        )

    # Hard deletes.

    def start_purge(self, entity_id: int, version: int, now: datetime) -> dict[str, Any] | None:
        """Mark the entity as being deleted (the commit point of a delete) and free its MD5.

        Conditional on the version the caller checked, so the files it lists are final.
        """
        return self.entities.find_one_and_update(
            {"_id": entity_id, "version": version, "purging": False},
            {"$set": {"purging": True, "purge_started": now}, "$unset": {"md5": ""}},
            return_document=ReturnDocument.BEFORE,
        )

    def every(self) -> Any:
        """Every entity's files map and purge mark (for the consistency audit)."""
        return self.entities.find({}, {"files": 1, "purging": 1, "purge_started": 1})

    def purging(self) -> list[dict[str, Any]]:
        """Entities whose delete has not finished."""
        return list(self.entities.find({"purging": True}))

    def drop_history(self, entity_id: int) -> None:
        self.versions.delete_many({"entity_id": entity_id})

    def drop(self, entity_id: int) -> None:
        self.entities.delete_one({"_id": entity_id, "purging": True})
