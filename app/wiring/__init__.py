"""Wiring: build every service from the settings, one step per feature.

Services take collaborators and plain values; only this package (and config.py) knows
the names of settings. Tests pass their own database, store, clock or publisher.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from app.wiring.audit import build_audit, register_tombstone_tasks
from app.wiring.entities import build_entities, register_entity_tasks
from app.wiring.events import HOUSEKEEPING_SECONDS, build_event_bus, push_verifier
from app.wiring.media import build_media, register_media_events
from app.wiring.parts import build_parts, register_part_housekeeping
from app.wiring.screenshots import build_screenshot_service, register_screenshot_events
from app.wiring.storage import open_database, open_object_store
from app.wiring.videos import build_videos
from services.clients.users import UserProfiles
from services.core.accounts import Accounts
from services.core.ingest import Ingest
from services.core.reservations import Holds
from services.core.sweep import HoldSweeper
from services.events.base import Publisher
from services.previews import Previews
from services.registry import Services
from services.storage.objects import ObjectStore
from services.storage.signed import SignedObjects


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC: the service's one clock."""
    return datetime.now(UTC)


def user_profiles(settings: Mapping[str, Any]) -> UserProfiles | None:
    """The user account service client, when USER_SERVICE_URL is configured."""
    if not settings.get("USER_SERVICE_URL"):
        return None
    return UserProfiles(
        settings["USER_SERVICE_URL"],
        timeout=settings["USER_SERVICE_TIMEOUT_SECONDS"],
        cache_seconds=settings["USER_SERVICE_CACHE_SECONDS"],
    )


def build_services(
    settings: Mapping[str, Any],
    *,
    database: Any = None,
    store: ObjectStore | None = None,
    profiles: UserProfiles | None = None,
    clock: Callable[[], datetime] = utc_now,
    signing_key: bytes,
    peer_token_secret: bytes,
    publisher: Publisher | None = None,
) -> Services:
    """Storage, then the shared core, then the event bus, then each feature."""
    database = database if database is not None else open_database(settings)
    if store is None:
        store = open_object_store(settings, signing_key=signing_key, clock=clock)
    accounts = Accounts(
        database["accounts"],
        default_quota_bytes=settings["DEFAULT_STORAGE_QUOTA_BYTES"],
        daily_bandwidth_bytes=settings["DAILY_BANDWIDTH_LIMIT_BYTES"],
        clock=clock,
    )
    holds = Holds(accounts, clock=clock, lease_seconds=settings["UPLOAD_LEASE_SECONDS"])
    ingest = Ingest(store)
    previews = Previews(store=store, records=database["previews"], clock=clock)
    events = build_event_bus(settings, database, clock=clock, publisher=publisher)
    videos = build_videos(
        settings,
        database=database,
        store=store,
        accounts=accounts,
        holds=holds,
        ingest=ingest,
        previews=previews,
        clock=clock,
    )
    screenshots = build_screenshot_service(
        settings,
        database=database,
        store=store,
        ingest=ingest,
        outbox=events.outbox,
        clock=clock,
        token_secret=peer_token_secret,
    )
    register_screenshot_events(settings, events, screenshots)
    media = build_media(
        settings,
        database=database,
        store=store,
        accounts=accounts,
        holds=holds,
        events=events,
        clock=clock,
    )
    register_media_events(settings, events, media)
    sweeper = HoldSweeper(holds, {videos.uploads.claims.name: videos.uploads.claims}, clock=clock)
    sweeper.register(media.uploads.claims)
    events.relay.add_task(sweeper.sweep, every_seconds=HOUSEKEEPING_SECONDS)
    entities = build_entities(settings, database=database, store=store, ingest=ingest, clock=clock)
    register_entity_tasks(events, entities)
    parts = build_parts(
        settings,
        database=database,
        store=store,
        accounts=accounts,
        holds=holds,
        videos=videos,
        clock=clock,
    )
    register_part_housekeeping(events, sweeper, parts)
    register_tombstone_tasks(events, videos, media)
    audit = build_audit(
        settings,
        accounts=accounts,
        store=store,
        events=events,
        sweeper=sweeper,
        videos=videos,
        media=media,
        parts=parts,
        entities=entities,
        screenshots=screenshots,
        clock=clock,
    )
    return Services(
        clock=clock,
        database=database,
        store=store,
        signed=SignedObjects(store),
        accounts=accounts,
        events=events,
        push_verifier=push_verifier(settings),
        videos=videos,
        screenshots=screenshots,
        media=media,
        entities=entities,
        parts=parts,
        audit=audit,
        profiles=profiles if profiles is not None else user_profiles(settings),
    )
