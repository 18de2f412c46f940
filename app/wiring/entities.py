"""The entity library from settings: its collections, its access rules and its housekeeping."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from app.wiring.events import HOUSEKEEPING_SECONDS
from app.wiring.media import download_token_secret, public_base_url
from services.core.claims import Claims
from services.core.ingest import Ingest
from services.entities import EntityAccess, EntityService, ReadAuthSwitch
from services.entities.changes import EntityChanges
from services.entities.files import EntityFiles
from services.entities.hierarchy import Hierarchy, HierarchyLock
from services.entities.purge import EntityPurge
from services.entities.records import EntityRecords
from services.entities.tokens import FileTokens
from services.events.bus import EventBus
from services.previews import Previews
from services.storage.objects import ObjectStore


def file_token_secret(settings: Mapping[str, Any]) -> bytes:
    """The key of entity file tokens: derived from the media download token secret.

    One secret to configure (and required in production) for both kinds of temporary link;
    the derivation gives each its own key, so neither kind of token can pass for the other.
    """
    return hmac.new(download_token_secret(settings), b"entity-file-urls", hashlib.sha256).digest()


def build_entities(
    settings: Mapping[str, Any],
    *,
    database: Any,
    store: ObjectStore,
    ingest: Ingest,
    clock: Callable[[], datetime],
    previews: Previews | None = None,
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
        previews=previews,
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
        file_tokens=FileTokens(
            file_token_secret(settings),
            ttl_seconds=settings["ENTITY_FILE_URL_TTL_SECONDS"],
            clock=clock,
        ),
        previews=previews,
        public_base_url=public_base_url(settings),
    )


def register_entity_tasks(events: EventBus, entities: EntityService) -> None:
    """Finish interrupted deletes, version copies and uploads on the relay's schedule."""
    events.relay.add_task(entities.housekeeping, every_seconds=HOUSEKEEPING_SECONDS)
