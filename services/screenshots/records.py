"""The screenshot collections: pending requests, issued upload tokens, stored screenshots."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from services.screenshots.tokens import PeerClaims
from services.storage.documents import drop_index_if_present

# Request states: waiting for a peer; gated by one upload, bookkeeping under way; done.
PENDING, COMPLETING, COMPLETED = "pending", "completing", "completed"
# Token states.
ISSUED, USED, REVOKED = "issued", "used", "revoked"

# Ids end up in object names: no separators, no leading dot, nothing a store could misread.
_SAFE_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")


def is_safe_id(value: Any) -> bool:
    """Tell whether a catalog or request id may be used inside an object name."""
    return isinstance(value, str) and _SAFE_ID.fullmatch(value) is not None


@dataclass(frozen=True)
class StoredShot:
    """One committed screenshot object."""

    object_name: str
    content_type: str
    size: int

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> StoredShot:
        """Rebuild from the form kept on a request document."""
        return cls(doc["object_name"], doc["content_type"], doc["size"])


class ScreenshotRecords:
    """Requests (_id = request_id), tokens (_id = token_id) and screenshots (_id = object name)."""

    def __init__(
        self, requests: Any, tokens: Any, screenshots: Any, *, clock: Callable[[], datetime]
    ) -> None:
        self.requests = requests
        self.tokens = tokens
        self.screenshots = screenshots
        self.clock = clock

    @classmethod
    def from_database(cls, database: Any, *, clock: Callable[[], datetime]) -> ScreenshotRecords:
        """Use the screenshot_requests, screenshot_tokens and screenshots collections."""
        return cls(
            database["screenshot_requests"],
            database["screenshot_tokens"],
            database["screenshots"],
            clock=clock,
        )

    def ensure_indexes(self) -> None:
        """Create the indexes the queries rely on, and the TTL indexes (idempotent)."""
        # _id is the request id and the token id, so both are unique by construction.
        # Expiry is judged by the service clock (purge_expired), never by a TTL index, whose
        # sweeper runs on the database's own clock.
        for collection in (self.requests, self.tokens):
            drop_index_if_present(collection, "expiry")
            collection.create_index([("expires_at", 1)], name="expires")
        self.requests.create_index([("catalog_id", 1), ("state", 1)], name="catalog_state")
        # At most one live token per (request, peer): what makes offering a single write.
        self.tokens.create_index([("live", 1)], unique=True, sparse=True, name="live")
        self.requests.create_index([("state", 1)], name="state")
        self.tokens.create_index(
            [("request_id", 1), ("peer_id", 1), ("state", 1)], name="request_peer_state"
        )
        self.screenshots.create_index([("catalog_id", 1), ("created_at", 1)], name="catalog")

    def purge_expired(self) -> int:
        """Delete expired requests and tokens (a request still completing is kept until done)."""
        now = self.clock()
        requests = self.requests.delete_many(
            {"expires_at": {"$lte": now}, "state": {"$ne": COMPLETING}}
        )
        # A token record lives as long as the token itself can verify.
        tokens = self.tokens.delete_many({"expires_at": {"$lte": now}})
        return requests.deleted_count + tokens.deleted_count

    # Requests.

    def add_request(self, request: dict[str, Any]) -> dict[str, Any]:
        """Insert a pending request; a duplicate request_id returns the stored one unchanged."""
        doc = {**request, "state": PENDING}
        try:
            self.requests.insert_one(dict(doc))
            return doc
        except DuplicateKeyError:
            return self.requests.find_one({"_id": request["_id"]}) or doc

    def request(self, request_id: str) -> dict[str, Any] | None:
        """The request by id, in any state, unless it has expired."""
        return self.requests.find_one({"_id": request_id, "expires_at": {"$gt": self.clock()}})

    def pending_for(self, catalog_ids: Iterable[str]) -> list[dict[str, Any]]:
        """Unexpired pending requests of any of the catalog items, oldest first."""
        return list(self.requests.find(
            {"catalog_id": {"$in": list(catalog_ids)}, "state": PENDING,
             "expires_at": {"$gt": self.clock()}},
            sort=[("created_at", 1)],
        ))  # fmt: skip

    def claim_completion(
        self, claims: PeerClaims, shots: list[StoredShot], upload_id: str
    ) -> dict[str, Any] | None:
        """The gate: move the request pending -> completing for this upload, or return None."""
        return self.requests.find_one_and_update(
            {"_id": claims.request_id, "state": PENDING, "expires_at": {"$gt": self.clock()}},
            {
                "$set": {
                    "state": COMPLETING,
                    "completed_at": self.clock(),
                    "peer_id": claims.peer_id,
                    "token_id": claims.token_id,
                    "upload_id": upload_id,
                    "screenshots": [asdict(shot) for shot in shots],
                }
            },
            return_document=ReturnDocument.AFTER,
        )

    def closed_by(self, request_id: str, upload_id: str) -> dict[str, Any] | None:
        """The request if that upload passed its gate, else None."""
        return self.requests.find_one({"_id": request_id, "upload_id": upload_id})

    def mark_completed(self, request_id: str) -> None:
        """Record that every step after the gate has been done."""
        self.requests.update_one(
            {"_id": request_id, "state": COMPLETING}, {"$set": {"state": COMPLETED}}
        )

    def completing(self) -> list[dict[str, Any]]:
        """Requests that passed the gate but whose bookkeeping may not have finished."""
        return list(self.requests.find({"state": COMPLETING}))

    # Tokens.

    def offer_token(self, claims: PeerClaims) -> tuple[PeerClaims, bool]:
        """The peer's one live token for the request: `claims` if stored now, else the existing.

        Returns (token, stored_now). One insert under the unique `live` key (request|peer)
        decides, so two offers racing for one peer give it one token, never two. A token
        keeps its key while issued or spent; it is released when the token expires or is
        revoked. A spent token is returned too: the caller must not offer it again.
        """
        key = f"{claims.request_id}|{claims.peer_id}"
        self.tokens.update_many(
            {"live": key, "expires_at": {"$lte": self.clock()}}, {"$unset": {"live": ""}}
        )
        try:
            self.tokens.insert_one(
                {
                    "_id": claims.token_id,
                    "token_id": claims.token_id,
                    "request_id": claims.request_id,
                    "peer_id": claims.peer_id,
                    "catalog_id": claims.catalog_id,
                    "state": ISSUED,
                    "live": key,
                    "issued_at": self.clock(),
                    "expires_at": claims.expires_at,
                }
            )
            return claims, True
        except DuplicateKeyError:
            holder = self.tokens.find_one({"live": key})
        if holder is None:  # released meanwhile (expired, revoked): offer afresh
            return self.offer_token(claims)
        return _claims_of(holder), False

    def live_token(self, request_id: str, peer_id: str) -> PeerClaims | None:
        """The peer's still usable token for the request, if it has one."""
        doc = self.tokens.find_one(
            {"request_id": request_id, "peer_id": peer_id, "state": ISSUED,
             "expires_at": {"$gt": self.clock()}},
            sort=[("expires_at", -1)],
        )  # fmt: skip
        return None if doc is None else _claims_of(doc)

    def token(self, token_id: str) -> dict[str, Any] | None:
        """The token record by id, in any state."""
        return self.tokens.find_one({"_id": token_id})

    def spend_token(
        self, token_id: str, upload_id: str, shots: list[StoredShot]
    ) -> dict[str, Any] | None:
        """issued -> used, naming the objects it paid for; None if it was not issued."""
        return self.tokens.find_one_and_update(
            {"_id": token_id, "state": ISSUED},
            {
                "$set": {
                    "state": USED,
                    "used_at": self.clock(),
                    "upload_id": upload_id,
                    "objects": [shot.object_name for shot in shots],
                }
            },
            return_document=ReturnDocument.AFTER,
        )

    def stranded_tokens(self, used_before: datetime) -> list[tuple[PeerClaims, str, list[str]]]:
        """(claims, upload_id, objects) of tokens spent before `used_before` on requests still
        pending: their upload never passed the gate (a crash or an outage in between)."""
        pending = self.requests.find(
            {"state": PENDING, "expires_at": {"$gt": self.clock()}}, {"_id": 1}
        )
        ids = [doc["_id"] for doc in pending]
        if not ids:
            return []
        spent = self.tokens.find(
            {"request_id": {"$in": ids}, "state": USED, "used_at": {"$lt": used_before}}
        )
        return [(_claims_of(doc), doc["upload_id"], doc.get("objects", [])) for doc in spent]

    def restore_token(self, token_id: str, upload_id: str) -> bool:
        """Give back a token this upload spent (used -> issued); True if it was given back."""
        result = self.tokens.update_one(
            {"_id": token_id, "state": USED, "upload_id": upload_id},
            {"$set": {"state": ISSUED}, "$unset": {"used_at": "", "upload_id": "", "objects": ""}},
        )
        return result.modified_count == 1

    def revoke_spent(self, token_id: str, upload_id: str) -> None:
        """Mark a token this upload spent on a request someone else fulfilled as revoked."""
        self.tokens.update_one(
            {"_id": token_id, "state": USED, "upload_id": upload_id},
            {"$set": {"state": REVOKED, "revoked_at": self.clock()}, "$unset": {"live": ""}},
        )

    def revoke_others(self, request_id: str) -> int:
        """Revoke every token of the request still issued; returns how many."""
        result = self.tokens.update_many(
            {"request_id": request_id, "state": ISSUED},
            {"$set": {"state": REVOKED, "revoked_at": self.clock()}, "$unset": {"live": ""}},
        )
        return result.modified_count

    # Screenshots.

    def record_screenshots(self, request: dict[str, Any]) -> None:
        """Record the request's stored screenshots for listing (idempotent)."""
        for shot in request["screenshots"]:
            self.screenshots.update_one(
                {"_id": shot["object_name"]},
                {
                    "$setOnInsert": {
                        **shot,
                        "catalog_id": request["catalog_id"],
                        "request_id": request["_id"],
                        "peer_id": request.get("peer_id"),
                        "created_at": request.get("completed_at") or self.clock(),
                    }
                },
                upsert=True,
            )

    def screenshot_names(self, catalog_id: str) -> list[str]:
        """Object names of a catalog item's screenshots, oldest first."""
        docs = self.screenshots.find(
            {"catalog_id": catalog_id}, sort=[("created_at", 1), ("_id", 1)]
        )
        return [doc["object_name"] for doc in docs]


def _claims_of(doc: dict[str, Any]) -> PeerClaims:
    """The claims a stored token record stands for."""
    return PeerClaims(
        doc["token_id"], doc["peer_id"], doc["catalog_id"], doc["request_id"], doc["expires_at"]
    )
