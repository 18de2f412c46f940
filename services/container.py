"""The one object that holds every service, and how the real ones are built."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.accounts import Accounts
from services.docstore import open_database
from services.events.base import PEER_AVAILABLE, SCREENSHOTS_REQUESTED, Publisher
from services.events.bus import EventBus
from services.events.factory import build_event_bus
from services.events.push_auth import PushVerifier
from services.objectstore import ObjectStore
from services.screenshots import build_screenshot_service
from services.uploads import VideoUploads
from services.usage import UsageLog
from services.users import UserProfiles
from services.videos import VideoLibrary


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Services:
    """Everything the blueprints may call, built once per process."""

    database: Any
    store: ObjectStore
    accounts: Accounts
    uploads: VideoUploads
    videos: VideoLibrary
    events: EventBus
    push_verifier: Any
    screenshots: Any = None
    profiles: UserProfiles | None = None

    def close(self) -> None:
        """Release clients and worker threads."""
        self.events.close()
        self.database.close()


def ensure_indexes(database: Any) -> None:
    """Create the indexes every query relies on (idempotent)."""
    files = database["files"]
    files.create_index([("owner", 1), ("filename", 1)], unique=True, name="owner_filename")
    # owner_filename serves every per-owner query. A separate (owner, state) index made
    # litemongo intersect with the set of *all* stored files: status cost grew with users.
    if "owner_state" in files.index_information():
        files.drop_index("owner_state")
    database["usage"].create_index([("user_id", 1), ("date", 1)], name="user_day")


def open_object_store(settings: Mapping[str, Any], signing_key: bytes) -> ObjectStore:
    """GCS when GCS_BUCKET is set, else a local directory under DATA_DIR."""
    if settings.get("GCS_BUCKET"):
        from services.objectstore.gcs import GCSService

        return GCSService.from_config(settings)
    from services.objectstore.local import LocalObjectStore

    return LocalObjectStore.from_config(settings, signing_key=signing_key)


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
    """Wire the services from settings; tests pass their own database, store or clock."""
    database = database if database is not None else open_database(settings)
    store = store if store is not None else open_object_store(settings, signing_key)
    profiles = profiles if profiles is not None else UserProfiles.from_config(settings)
    ensure_indexes(database)
    accounts = Accounts(
        database["accounts"],
        default_quota_bytes=settings["DEFAULT_STORAGE_QUOTA_BYTES"],
        daily_bandwidth_bytes=settings["DAILY_BANDWIDTH_LIMIT_BYTES"],
        clock=clock,
    )
    usage = UsageLog(database["usage"])
    uploads = VideoUploads(
        files=database["files"],
        accounts=accounts,
        usage=usage,
        store=store,
        clock=clock,
        max_upload_bytes=settings["MAX_UPLOAD_BYTES"],
        lease_seconds=settings["UPLOAD_LEASE_SECONDS"],
    )
    videos = VideoLibrary(
        files=database["files"],
        accounts=accounts,
        usage=usage,
        store=store,
        clock=clock,
        signed_url_ttl=settings["SIGNED_URL_TTL_SECONDS"],
    )
    events = build_event_bus(settings, database, clock=clock, publisher=publisher)
    screenshots = build_screenshot_service(
        settings,
        database=database,
        store=store,
        outbox=events.outbox,
        clock=clock,
        token_secret=peer_token_secret,
    )
    events.router.register(SCREENSHOTS_REQUESTED, screenshots.handle_requested)
    events.router.register(PEER_AVAILABLE, screenshots.handle_peer_available)
    events.relay.add_task(screenshots.resume_completions)
    return Services(
        database=database,
        store=store,
        accounts=accounts,
        uploads=uploads,
        videos=videos,
        events=events,
        push_verifier=PushVerifier.from_config(settings),
        screenshots=screenshots,
        profiles=profiles,
    )
