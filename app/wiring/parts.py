"""The part upload feature from settings: sessions, their holds, the videos they land in."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from app.wiring.events import HOUSEKEEPING_SECONDS
from services.core.accounts import Accounts
from services.core.content import ContentCheck
from services.core.reservations import Holds
from services.core.sweep import HoldSweeper
from services.events.bus import EventBus
from services.parts import Limits, PartUploads, SessionHolds, SessionRecords, SweptSessions
from services.storage.objects import ObjectStore
from services.videos import VideoFeature


def part_limits(settings: Mapping[str, Any]) -> Limits:
    """The MULTIPART_* settings and the largest upload, as the service takes them."""
    return Limits(
        part_size=settings["MULTIPART_PART_SIZE_BYTES"],
        max_part_bytes=settings["MULTIPART_MAX_PART_BYTES"],
        max_upload_bytes=settings["MAX_UPLOAD_BYTES"],
        session_ttl=timedelta(hours=settings["MULTIPART_SESSION_TTL_HOURS"]),
        url_ttl_seconds=settings["MULTIPART_URL_TTL_SECONDS"],
        lock_seconds=settings["MULTIPART_COMPLETE_LEASE_SECONDS"],
    )


def build_parts(
    settings: Mapping[str, Any],
    *,
    database: Any,
    store: ObjectStore,
    accounts: Accounts,
    holds: Holds,
    videos: VideoFeature,
    clock: Callable[[], datetime],
    content_check: ContentCheck | None = None,
) -> PartUploads:
    """Wire part uploads on the shared accounts, holds and store, landing in `videos`."""
    sessions = SessionRecords(database["upload_sessions"], clock=clock)
    sessions.ensure_indexes()
    return PartUploads(
        sessions=sessions,
        holds=SessionHolds(holds, sessions),
        accounts=accounts,
        store=store,
        videos=videos,
        clock=clock,
        limits=part_limits(settings),
        bucket=settings.get("GCS_BUCKET") or "local",
        content_check=content_check,
    )


def register_part_housekeeping(events: EventBus, sweeper: HoldSweeper, parts: PartUploads) -> None:
    """Expire and clean up sessions with the relay; let the hold sweeper resolve their holds."""
    sweeper.register(SweptSessions(parts.sessions))  # type: ignore[arg-type]
    events.relay.add_task(parts.reclaim, every_seconds=HOUSEKEEPING_SECONDS)
