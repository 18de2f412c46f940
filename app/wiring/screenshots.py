"""The screenshot feature from settings: its services, topics and handlers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import requests

from app.wiring.events import HOUSEKEEPING_SECONDS
from services.clients.peers import EdgeClient, PeerRegistry, outbound_session
from services.core.ingest import Ingest
from services.events.bus import EventBus
from services.screenshots.events import PEER_AVAILABLE, SCREENSHOTS_COMPLETED, SCREENSHOTS_REQUESTED
from services.screenshots.records import ScreenshotRecords
from services.screenshots.service import ScreenshotService
from services.screenshots.tokens import PeerTokens
from services.screenshots.upload import OutboxLike, ScreenshotUploads
from services.storage.objects import ObjectStore


def build_screenshot_service(
    settings: Mapping[str, Any],
    *,
    database: Any,
    store: ObjectStore,
    ingest: Ingest,
    outbox: OutboxLike,
    clock: Callable[[], datetime],
    token_secret: bytes,
    session: requests.Session | None = None,
) -> ScreenshotService:
    """Wire the screenshot service from settings and create the indexes it needs."""
    if not token_secret:
        raise ValueError("a peer token secret is required")
    records = ScreenshotRecords.from_database(database, clock=clock)
    records.ensure_indexes()
    tokens = PeerTokens(
        token_secret, ttl=timedelta(minutes=settings["JWT_TOKEN_EXPIRE_MINUTES"]), clock=clock
    )
    session = session if session is not None else outbound_session(settings["OUTBOUND_RETRIES"])
    timeout = settings["OUTBOUND_TIMEOUT_SECONDS"]
    uploads = ScreenshotUploads(
        records=records,
        tokens=tokens,
        store=store,
        ingest=ingest,
        outbox=outbox,
        clock=clock,
        max_files=settings["MAX_SCREENSHOTS_PER_REQUEST"],
        max_file_bytes=settings["MAX_SCREENSHOT_BYTES"],
        signed_url_ttl=settings["SIGNED_URL_TTL_SECONDS"],
        public_base_url=settings.get("PUBLIC_BASE_URL"),
    )
    return ScreenshotService(
        records=records,
        tokens=tokens,
        registry=PeerRegistry(settings.get("PEER_REGISTRY_URL"), session, timeout),
        edge=EdgeClient(settings.get("EDGE_SERVICE_URL"), session, timeout),
        uploads=uploads,
        clock=clock,
        pending_ttl=timedelta(hours=settings["PENDING_REQUEST_TTL_HOURS"]),
        public_base_url=settings.get("PUBLIC_BASE_URL"),
    )


def register_screenshot_events(
    settings: Mapping[str, Any], events: EventBus, screenshots: ScreenshotService
) -> None:
    """Register the feature's topics, its two handlers and its recovery task."""
    events.topics.register(SCREENSHOTS_REQUESTED, settings.get("TOPIC_SCREENSHOTS_REQUESTED"))
    events.topics.register(SCREENSHOTS_COMPLETED, settings.get("TOPIC_SCREENSHOTS_COMPLETED"))
    events.topics.register(PEER_AVAILABLE, settings.get("TOPIC_PEER_AVAILABLE"))
    events.router.register(SCREENSHOTS_REQUESTED, screenshots.handle_requested)
    events.router.register(PEER_AVAILABLE, screenshots.handle_peer_available)
    events.relay.add_task(screenshots.resume_completions)
    events.relay.add_task(screenshots.records.purge_expired, every_seconds=HOUSEKEEPING_SECONDS)
