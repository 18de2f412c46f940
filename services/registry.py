"""The one object that holds every service the blueprints may call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.clients.users import UserProfiles
from services.core.accounts import Accounts
from services.entities import EntityService
from services.events.bus import EventBus
from services.media import MediaFeature
from services.parts import PartUploads
from services.screenshots import ScreenshotService
from services.storage.objects import ObjectStore
from services.storage.signed import SignedObjects
from services.videos import VideoFeature


@dataclass(frozen=True)
class Services:
    """Everything the blueprints may call, built once per process by app.wiring."""

    clock: Callable[[], datetime]
    database: Any
    store: ObjectStore
    signed: SignedObjects
    accounts: Accounts
    events: EventBus
    push_verifier: Any
    videos: VideoFeature
    screenshots: ScreenshotService
    media: MediaFeature
    entities: EntityService
    parts: PartUploads
    profiles: UserProfiles | None = None
    audit: Any = None  # services.audit.Audit: the consistency audit (`flask fsck`)

    def close(self) -> None:
        """Release clients and worker threads."""
        self.events.close()
        self.database.close()
