"""Claims: a name or an id taken for an upload in progress, with a lease, in a feature's records.

A claim is the record of the upload itself: inserted `uploading` with a lease under the
feature's unique index (a second claim of the same name fails), renewed as bytes arrive,
turned `stored` at the commit point, or deleted by whoever undoes or reclaims it. Each of
these is one conditional write of the claim document, and only the caller whose write took
effect goes on to give back what the claim held.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument

from services.core.errors import LeaseExpired

UPLOADING, STORED, DELETING = "uploading", "stored", "deleting"


class Claims:
    """The claims of one collection (the video files, the media files, ...)."""

    def __init__(
        self, collection: Any, *, clock: Callable[[], datetime], lease_seconds: int
    ) -> None:
        self.collection = collection
        self.clock = clock
        self.lease = timedelta(seconds=lease_seconds)

    @property
    def name(self) -> str:
        """The collection's name, used to refer to a claim from elsewhere (an account hold)."""
        return self.collection.name

    def take(self, fields: dict[str, Any], claim_id: str | None = None) -> dict[str, Any]:
        """Insert an `uploading` claim; DuplicateKeyError when the unique key is taken."""
        now = self.clock()
        claim = {
            "_id": claim_id or uuid.uuid4().hex,
            **fields,
            "state": UPLOADING,
            "lease_until": now + self.lease,
            "created_at": now,
        }
        self.collection.insert_one(dict(claim))
        return claim

    def renew(self, claim_id: str) -> None:
        """Extend the lease of a claim still uploading; LeaseExpired when it was reclaimed."""
        result = self.collection.update_one(
            {"_id": claim_id, "state": UPLOADING},
            {"$set": {"lease_until": self.clock() + self.lease}},
        )
        if result.matched_count != 1:
            raise LeaseExpired()

    def commit(self, claim_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """The commit point: uploading -> stored with `fields`; LeaseExpired if it was reclaimed.

        A write whose answer is lost (the connection drops after the server applied it) is
        read back: only this claim's holder turns it `stored`, so a stored claim is this
        commit, which took effect, and undoing the upload now would delete a stored file.
        """
        try:
            stored = self.collection.find_one_and_update(
                {"_id": claim_id, "state": UPLOADING},
                {"$set": {**fields, "state": STORED}, "$unset": {"lease_until": ""}},
                return_document=ReturnDocument.AFTER,
            )
        except Exception:
            stored = self._stored_despite_error(claim_id)
            if stored is None:
                raise
        if stored is None:
            raise LeaseExpired()
        return stored

    def _stored_despite_error(self, claim_id: str) -> dict[str, Any] | None:
        """The claim if it is stored, None if it is not or the store cannot say."""
        try:
            doc = self.collection.find_one({"_id": claim_id})
        except Exception:
            return None
        return doc if doc is not None and doc.get("state") == STORED else None

    def drop(self, claim_id: str) -> dict[str, Any] | None:
        """Delete a claim still uploading (an upload undone); None if it is not ours any more."""
        return self.collection.find_one_and_delete({"_id": claim_id, "state": UPLOADING})

    def expired(self, where: dict[str, Any] | None = None) -> list[str]:
        """Ids of claims whose lease ran out (their process died or went quiet)."""
        query = {**(where or {}), "state": UPLOADING, "lease_until": {"$lt": self.clock()}}
        return [doc["_id"] for doc in self.collection.find(query, {"_id": 1})]

    def reclaim(self, claim_id: str) -> dict[str, Any] | None:
        """Delete a claim whose lease ran out; None when it finished or someone else took it."""
        return self.collection.find_one_and_delete(
            {"_id": claim_id, "state": UPLOADING, "lease_until": {"$lt": self.clock()}}
        )
