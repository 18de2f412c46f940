"""Usage records: per user and UTC day, what was uploaded and deleted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from services.core.accounts import utc_day
from services.core.users import User


class UsageLog:
    """One document per user per day: volumes, counts and each upload and deletion."""

    def __init__(self, collection: Any) -> None:
        self.collection = collection

    def record_upload(
        self, user: User, filename: str, size: int, at: datetime, upload_id: str
    ) -> dict[str, Any]:
        """Add an upload to the day's record once per upload id; returns the record after it."""
        entry = {"id": upload_id, "filename": filename, "size": size}
        try:
            return self._record(user, at, "upload", entry, {"uploads.id": {"$ne": upload_id}})
        except DuplicateKeyError:  # already recorded: the filter missed, the upsert collided
            return self.day(user.id, utc_day(at)) or {}

    def forget_upload(self, user_id: str, upload_id: str) -> bool:
        """Take back the entry of an upload that was undone; False when there was none."""
        record = self.collection.find_one({"user_id": user_id, "uploads.id": upload_id})
        entries = (record or {}).get("uploads", [])
        entry = next((e for e in entries if e.get("id") == upload_id), None)
        if entry is None:
            return False
        result = self.collection.update_one(
            {"_id": record["_id"], "uploads.id": upload_id},
            {
                "$pull": {"uploads": {"id": upload_id}},
                "$inc": {"upload_volume": -entry["size"], "upload_count": -1},
            },
        )
        return result.modified_count == 1

    def record_deletion(self, user: User, filename: str, size: int, at: datetime) -> dict[str, Any]:
        """Add a deletion to the day's record; returns the record after the change."""
        return self._record(user, at, "deletion", {"filename": filename, "size": size})

    def day(self, user_id: str, day: str) -> dict[str, Any] | None:
        """The record of one user's day, if anything happened that day."""
        return self.collection.find_one({"_id": f"{user_id}|{day}"})

    def _record(
        self,
        user: User,
        at: datetime,
        kind: str,
        entry: dict[str, Any],
        unless: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        day = utc_day(at)
        plural = "uploads" if kind == "upload" else "deletions"
        return self.collection.find_one_and_update(
            {"_id": f"{user.id}|{day}", **(unless or {})},
            {
                "$setOnInsert": {"user_id": user.id, "date": day},
                "$set": {"email": user.email},
                "$inc": {f"{kind}_volume": entry["size"], f"{kind}_count": 1},
                "$push": {plural: {**entry, "timestamp": at}},
            },
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
