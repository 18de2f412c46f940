"""The consistency audit from settings: each feature's facts and housekeeping, one lease."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from app.wiring.events import HOUSEKEEPING_SECONDS
from services.audit import Audit, FeatureSource
from services.core.accounts import Accounts
from services.core.sweep import HoldSweeper
from services.entities import EntityService
from services.entities.facts import entity_facts
from services.events.bus import EventBus
from services.media import MediaFeature
from services.media.facts import media_facts
from services.parts import PartUploads
from services.parts.facts import part_facts
from services.screenshots import ScreenshotService
from services.screenshots.facts import screenshot_facts
from services.storage.objects import ObjectStore
from services.videos import VideoFeature
from services.videos.facts import video_facts


def build_audit(
    settings: Mapping[str, Any],
    *,
    accounts: Accounts,
    store: ObjectStore,
    events: EventBus,
    sweeper: HoldSweeper,
    videos: VideoFeature,
    media: MediaFeature,
    parts: PartUploads,
    entities: EntityService,
    screenshots: ScreenshotService,
    clock: Callable[[], datetime],
) -> Audit:
    """Each feature answers for its own records; the audit adds accounts, storage, outbox."""
    sources = [
        FeatureSource(
            "videos",
            lambda now, grace: video_facts(videos.library, now, grace),
            lambda: {
                "reclaimed": videos.uploads.reclaim_abandoned(),
                "deletes finished": videos.library.finish_deletes(thorough=True),
            },
        ),
        FeatureSource(
            "media",
            lambda now, grace: media_facts(media.records, now, grace),
            lambda: {
                "reclaimed": media.uploads.reclaim_abandoned() + media.invoices.reclaim_abandoned(),
                "purged": media.library.purge_expired(),
                "deletes finished": media.library.finish_deletes(thorough=True),
                "announced": media.announcer.finish_pending(),
            },
        ),
        FeatureSource(
            "parts",
            lambda now, grace: part_facts(parts.sessions, now, grace),
            lambda: {"expired": parts.reclaim()},
        ),
        FeatureSource(
            "entities",
            lambda now, grace: entity_facts(entities.records, entities.files, now, grace),
            lambda: {"finished": entities.housekeeping()},
        ),
        FeatureSource(
            "screenshots",
            lambda now, grace: screenshot_facts(screenshots.records, now, grace),
            lambda: {
                "completions resumed": screenshots.resume_completions(),
                "purged": screenshots.records.purge_expired(),
            },
        ),
    ]
    return Audit(
        sources=sources,
        accounts=accounts,
        store=store,
        outbox=events.outbox,
        sweep_holds=sweeper.sweep,
        clock=clock,
        lease_seconds=settings["UPLOAD_LEASE_SECONDS"],
    )


def register_tombstone_tasks(events: EventBus, videos: VideoFeature, media: MediaFeature) -> None:
    """Finish deletes a crash left half way (two-phase deletes), on the relay's schedule."""
    events.relay.add_task(videos.library.finish_deletes, every_seconds=HOUSEKEEPING_SECONDS)
    events.relay.add_task(media.library.finish_deletes, every_seconds=HOUSEKEEPING_SECONDS)
