"""Deleting entities for good, and the housekeeping that finishes interrupted work.

A delete marks the entity `purging` (the commit point: from then on it is gone to every
read, and its MD5 is free), then deletes its history, then every object any of its versions
referred to, then the entity document. Each step is idempotent; a crash or a storage outage
part way leaves the mark, and housekeeping repeats the steps. A collection is deleted only
without children, checked and marked under the hierarchy lock so no child can be placed in
it meanwhile.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from services.core.cleanup import quietly
from services.core.errors import Conflict
from services.entities.changes import EntityChanges, utc_millis
from services.entities.files import EntityFiles
from services.entities.hierarchy import Hierarchy
from services.entities.records import EntityRecords

log = logging.getLogger("mediastore.entities")


class EntityPurge:
    """DELETE of the entity API, and the housekeeping task of the whole feature."""

    def __init__(
        self,
        *,
        records: EntityRecords,
        files: EntityFiles,
        hierarchy: Hierarchy,
        changes: EntityChanges,
        clock: Callable[[], datetime],
        retries: int = 5,
    ) -> None:
        self.records = records
        self.files = files
        self.hierarchy = hierarchy
        self.changes = changes
        self.clock = clock
        self.retries = retries

    def delete(self, entity_id: int) -> dict[str, Any]:
        """Delete the entity, its history and its files; returns its last state."""
        for _ in range(self.retries):
            current = self.changes.live(entity_id)
            with self.hierarchy.guarded(current["is_collection"]):
                if current["is_collection"] and self.records.has_children(entity_id):
                    raise Conflict(f"Collection {entity_id} is not empty")
                doc = self.records.start_purge(
                    entity_id, current["version"], utc_millis(self.clock())
                )
            if doc is not None:
                # Deleted as far as anyone can see; what fails here, housekeeping finishes.
                quietly(lambda doc=doc: self.finish(doc), log)
                return doc
        raise Conflict(f"Entity {entity_id} was changed by another request; please try again")

    def finish(self, doc: dict[str, Any]) -> None:
        """Delete a purging entity's history, objects and document (safe to repeat)."""
        self.records.drop_history(doc["_id"])
        self.files.delete_objects(sorted(set(doc.get("files", {}).values())))
        self.records.drop(doc["_id"])

    def housekeeping(self) -> int:
        """Finish interrupted deletes, version copies and uploads; returns how many."""
        done = 0
        for doc in self.records.purging():
            if quietly(lambda doc=doc: self.finish(doc) or True, log):
                done += 1
        for doc in self.records.pending():
            if quietly(lambda doc=doc: self.records.record_version(doc) or True, log):
                done += 1
        return done + self.files.finish_abandoned(self.records.holds)
