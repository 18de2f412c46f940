"""The entity library from settings: its collections, its access rules and its housekeeping."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from app.wiring.events import HOUSEKEEPING_SECONDS
from services.core.claims import Claims
from services.core.ingest import Ingest
from services.entities import EntityAccess, EntityService, ReadAuthSwitch
from services.entities.changes import EntityChanges
from services.entities.files import EntityFiles
from services.entities.hierarchy import Hierarchy, HierarchyLock
from services.entities.purge import EntityPurge
from services.entities.records import EntityRecords
from services.events.bus import EventBus
from services.storage.objects import ObjectStore


def build_entities(
    settings: Mapping[str, Any],
    *,
    database: Any,
    store: ObjectStore,
    ingest: Ingest,
    clock: Callable[[], datetime],
) -> EntityService:
    """Wire the entity service on the shared store and ingest, and create its indexes."""
    records = EntityRecords(database)
    records.ensure_indexes()
    uploads = database["entity_uploads"]
    uploads.create_index("state", name="state")
    claims = Claims(uploads, clock=clock, lease_seconds=settings["UPLOAD_LEASE_SECONDS"])
    files = EntityFiles(
        claims=claims,
        ingest=ingest,
        store=store,
        clock=clock,
        max_bytes=settings["ENTITY_MAX_FILE_BYTES"],
    )
    lock = HierarchyLock(database["entity_locks"], clock=clock)
    lock.ensure()
    hierarchy = Hierarchy(records, lock)
    changes = EntityChanges(records=records, files=files, hierarchy=hierarchy, clock=clock)
    purge = EntityPurge(
        records=records, files=files, hierarchy=hierarchy, changes=changes, clock=clock
    )
    read_auth = ReadAuthSwitch(
        database["entity_settings"],
        clock=clock,
        default=settings["READ_AUTH_ENABLED"],
        cache_seconds=settings["ENTITY_READ_AUTH_CACHE_SECONDS"],
    )
    return EntityService(
        records=records,
        changes=changes,
        purge=purge,
        files=files,
        access=EntityAccess(auth_disabled=settings["AUTH_DISABLED"], read_auth=read_auth),
        store=store,
    )


def register_entity_tasks(events: EventBus, entities: EntityService) -> None:
    """Finish interrupted deletes, version copies and uploads on the relay's schedule."""
    events.relay.add_task(entities.housekeeping, every_seconds=HOUSEKEEPING_SECONDS)
