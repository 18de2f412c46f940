"""Who may use the entity API: demo mode, write permission, and the runtime read-auth switch."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from pymongo import ReturnDocument

from services.core.users import User

READ_PERMISSION = "media_store_read"
WRITE_PERMISSION = "media_store_write"
SWITCH_ID = "read_auth"


class Need(Enum):
    """What an endpoint needs of its caller when authentication is on."""

    READ = READ_PERMISSION
    WRITE = WRITE_PERMISSION
    ADMIN = "admin"

    def granted_to(self, user: User) -> bool:
        """True when the user's token grants this (admins are granted everything)."""
        return user.is_admin if self is Need.ADMIN else user.can(self.value)


class ReadAuthSwitch:
    """Whether reads need a token: the environment's default until an admin sets it.

    The setting lives in one document, so every instance shares it; each instance re-reads
    it at most `cache_seconds` of the service clock after it last did.
    """

    def __init__(
        self,
        collection: Any,
        *,
        clock: Callable[[], datetime],
        default: bool,
        cache_seconds: float = 5.0,
    ) -> None:
        self.collection = collection
        self.clock = clock
        self.default = default
        self.cache = timedelta(seconds=cache_seconds)
        self._lock = threading.Lock()
        self._cached: tuple[bool, datetime] | None = None

    def enabled(self) -> bool:
        """The switch as of at most `cache_seconds` ago."""
        now = self.clock()
        cached = self._cached
        if cached is not None and now - cached[1] < self.cache:
            return cached[0]
        return self.state()["read_auth_enabled"]

    def state(self) -> dict[str, Any]:
        """The switch now: {read_auth_enabled, updated_at, updated_by} (never set: nulls)."""
        doc = self.collection.find_one({"_id": SWITCH_ID}) or {}
        return self._remember(doc)

    def set(self, enabled: bool, by: str | None) -> dict[str, Any]:
        """Set the switch for every instance; returns the new state."""
        doc = self.collection.find_one_and_update(
            {"_id": SWITCH_ID},
            {"$set": {"enabled": enabled, "updated_at": self.clock(), "updated_by": by}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return self._remember(doc)

    def _remember(self, doc: dict[str, Any]) -> dict[str, Any]:
        enabled = bool(doc.get("enabled", self.default))
        with self._lock:
            self._cached = (enabled, self.clock())
        return {
            "read_auth_enabled": enabled,
            "updated_at": doc.get("updated_at"),
            "updated_by": doc.get("updated_by"),
        }


@dataclass(frozen=True)
class EntityAccess:
    """The decision of the seed's permission resolution, less the token check itself."""

    auth_disabled: bool
    read_auth: ReadAuthSwitch

    def needs_token(self, need: Need) -> bool:
        """False in demo mode, and for reads while read auth is off."""
        if self.auth_disabled:
            return False
        return need is not Need.READ or self.read_auth.enabled()
