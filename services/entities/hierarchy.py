"""Collections and their children: where an entity may be placed, and one change at a time.

A parent must be an existing, not soft-deleted collection, never the entity itself or one
of its descendants, and no entity may sit deeper than MAX_DEPTH levels (a top-level entity
is level 1). These are checks across documents, so two changes checked side by side could
each pass and together break them (two moves making a cycle, a child added to a collection
being deleted). Changes that place an entity under a parent, and deletes of collections, are
therefore made one at a time under HierarchyLock: one document with a holder and a lease.
A process that dies holding it holds it until the lease runs out (by the service clock).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError

from services.core.errors import StorageUnavailable, Unprocessable
from services.entities.records import EntityRecords

MAX_DEPTH = 10
LOCK_ID = "hierarchy"
CIRCULAR = "Circular hierarchy detected"


class HierarchyBusy(StorageUnavailable):
    """Another change to the collection hierarchy held the lock for too long."""

    default_message = "The collection hierarchy is busy; please try again"


class InvalidHierarchy(Unprocessable):
    """A parent_id that breaks the hierarchy rules."""


class HierarchyLock:
    """A lease-held lock in one document: acquire by a conditional update, wait by polling."""

    def __init__(
        self,
        collection: Any,
        *,
        clock: Callable[[], datetime],
        lease_seconds: float = 30,
        attempts: int = 200,
        pause_seconds: float = 0.025,
    ) -> None:
        self.collection = collection
        self.clock = clock
        self.lease = timedelta(seconds=lease_seconds)
        self.attempts = attempts
        self.pause_seconds = pause_seconds

    def ensure(self) -> None:
        """Create the lock document, free, if it does not exist yet."""
        # Another process may create it at the same moment: then theirs is the one.
        with contextlib.suppress(DuplicateKeyError):
            self.collection.update_one(
                {"_id": LOCK_ID}, {"$setOnInsert": {"holder": None}}, upsert=True
            )

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold the lock for the block; HierarchyBusy when it cannot be had in time."""
        holder = uuid.uuid4().hex
        for attempt in range(self.attempts):
            if self._take(holder):
                break
            if attempt < self.attempts - 1:
                time.sleep(self.pause_seconds)
        else:
            raise HierarchyBusy()
        try:
            yield
        finally:
            self.collection.update_one(
                {"_id": LOCK_ID, "holder": holder}, {"$set": {"holder": None}}
            )

    def _take(self, holder: str) -> bool:
        now = self.clock()
        taken = self.collection.find_one_and_update(
            {"_id": LOCK_ID, "$or": [{"holder": None}, {"until": {"$lt": now}}]},
            {"$set": {"holder": holder, "until": now + self.lease}},
        )
        return taken is not None


class Hierarchy:
    """The placement rules of the module docstring, checked against the records."""

    def __init__(self, records: EntityRecords, lock: HierarchyLock) -> None:
        self.records = records
        self.lock = lock

    @contextmanager
    def guarded(self, needed: bool) -> Iterator[None]:
        """Hold the lock for the block when `needed` (the change touches the hierarchy)."""
        if not needed:
            yield
            return
        with self.lock.held():
            yield

    def check_parent(self, entity_id: int | None, parent_id: int) -> None:
        """Refuse (422) a parent that is missing, not a collection, circular or too deep."""
        parent = self.records.get(parent_id)
        if parent is None or parent.get("is_deleted"):
            raise InvalidHierarchy(
                f"Cannot set parent_id to {parent_id}: parent entity does not exist"
            )
        if not parent.get("is_collection"):
            raise InvalidHierarchy(
                f"Cannot set parent_id to {parent_id}: parent entity is not a collection"
            )
        depth = self._depth(entity_id, parent)
        height = 1 if entity_id is None else self._height(entity_id, MAX_DEPTH - depth)
        if depth + height > MAX_DEPTH:
            raise InvalidHierarchy(
                f"Cannot set parent_id to {parent_id}: "
                f"the hierarchy would be deeper than {MAX_DEPTH} levels"
            )

    def _depth(self, entity_id: int | None, parent: dict[str, Any]) -> int:
        """The parent's level (1 at the top); CIRCULAR if the entity is among its ancestors."""
        depth, node = 1, parent
        while True:
            if entity_id is not None and node["_id"] == entity_id:
                raise InvalidHierarchy(CIRCULAR)
            above = node.get("parent_id")
            if above is None:
                return depth
            depth += 1
            if depth > MAX_DEPTH + 1:
                return depth  # deeper than allowed already: no need to climb further
            node = self.records.get(above)
            if node is None:
                return depth - 1  # a dangling link ends the chain

    def _height(self, entity_id: int, budget: int) -> int:
        """Levels of the entity's subtree (1 for a leaf), counted up to budget + 1."""
        height, level = 1, [entity_id]
        while level and height <= budget:
            children = self.records.children_of(level)
            if not children:
                break
            height += 1
            level = [child["_id"] for child in children if child.get("is_collection")]
        return height
