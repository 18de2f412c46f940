"""The video feature from settings: uploads into the library, and the library."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from services.core.accounts import Accounts
from services.core.claims import Claims
from services.core.ingest import Ingest
from services.core.reservations import Holds
from services.core.usage import UsageLog
from services.core.writes import WritePath
from services.previews import Previews
from services.storage.objects import ObjectStore
from services.videos import VideoFeature, VideoLanding, VideoLibrary, VideoUploads


def ensure_video_indexes(database: Any) -> None:
    """Create the indexes the video queries rely on (idempotent)."""
    files = database["files"]
    files.create_index([("owner", 1), ("filename", 1)], unique=True, name="owner_filename")
    # owner_filename serves every per-owner query. A separate (owner, state) index made
    # litemongo intersect with the set of *all* stored files: status cost grew with users.
    if "owner_state" in files.index_information():
        files.drop_index("owner_state")
    database["usage"].create_index([("user_id", 1), ("date", 1)], name="user_day")
    # Half-done deletes, found by equality; only tombstones carry the field.
    files.create_index([("tombstone", 1)], name="tombstone", sparse=True)


def build_videos(
    settings: Mapping[str, Any],
    *,
    database: Any,
    store: ObjectStore,
    accounts: Accounts,
    holds: Holds,
    ingest: Ingest,
    previews: Previews,
    clock: Callable[[], datetime],
) -> VideoFeature:
    """Wire the video uploads, library and landing on the shared accounts, holds and store."""
    ensure_video_indexes(database)
    usage = UsageLog(database["usage"])
    claims = Claims(database["files"], clock=clock, lease_seconds=settings["UPLOAD_LEASE_SECONDS"])
    writes = WritePath(claims=claims, holds=holds, ingest=ingest, store=store)
    uploads = VideoUploads(
        claims=claims,
        writes=writes,
        accounts=accounts,
        usage=usage,
        clock=clock,
        max_upload_bytes=settings["MAX_UPLOAD_BYTES"],
    )
    writes.on_reclaim = uploads.forget_usage
    library = VideoLibrary(
        files=database["files"],
        accounts=accounts,
        usage=usage,
        store=store,
        clock=clock,
        signed_url_ttl=settings["SIGNED_URL_TTL_SECONDS"],
        previews=previews,
        holds=holds,
    )
    landing = VideoLanding(files=database["files"], usage=usage, clock=clock)
    return VideoFeature(uploads=uploads, library=library, landing=landing)
