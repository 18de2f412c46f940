"""Usage records: per user and UTC day, what was uploaded and deleted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ReturnDocument

from services.core.accounts import utc_day
from services.core.users import User


class UsageLog:
    """One document per user per day: volumes, counts and each upload and deletion."""

    def __init__(self, collection: Any) -> None:
        self.collection = collection

    def record_upload(self, user: User, filename: str, size: int, at: datetime) -> dict[str, Any]:
        """Add an upload to the day's record; returns the record after the change."""
        return self._record(user, at, "upload", {"filename": filename, "size": size})

    def record_deletion(self, user: User, filename: str, size: int, at: datetime) -> dict[str, Any]:
        """Add a deletion to the day's record; returns the record after the change."""
        return self._record(user, at, "deletion", {"filename": filename, "size": size})

    def day(self, user_id: str, day: str) -> dict[str, Any] | None:
        """The record of one user's day, if anything happened that day."""
        return self.collection.find_one({"_id": f"{user_id}|{day}"})

    def _record(self, user: User, at: datetime, kind: str, entry: dict[str, Any]) -> dict[str, Any]:
        day = utc_day(at)
        plural = "uploads" if kind == "upload" else "deletions"
        return self.collection.find_one_and_update(
            {"_id": f"{user.id}|{day}"},
            {
                "$setOnInsert": {"user_id": user.id, "date": day},
                "$set": {"email": user.email},
                "$inc": {f"{kind}_volume": entry["size"], f"{kind}_count": 1},
                "$push": {plural: {**entry, "timestamp": at}},
            },
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
