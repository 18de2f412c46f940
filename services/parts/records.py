"""Upload sessions: one document each, changed only by single conditional updates.

A session document:
  _id          unguessable id (secrets.token_urlsafe), also the id of its hold on the account
  owner        the token's `sub`; every lookup is scoped to it
  filename, content_type, size   as declared at create (size may be None)
  object_name  where the composed video will live (`s3_key`)
  status       uploading -> completed | aborted | expired (never back)
  parts        {"<n>": {etag, size, generation}}: the registered parts
  presigned    part numbers a URL was handed out for (their objects may exist)
  urls_until   when the last of those URLs stops working
  lock         {id, until, total?} while one `complete` runs; others wait for it or its lease
  final        {name, size, content_type, generation} of the composed object (completed)
  landed       {filename, size} once the video is in the owner's library
  todo         True while a finished session still has clean-up to do (see PartUploads)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument

UPLOADING, COMPLETED, ABORTED, EXPIRED = "uploading", "completed", "aborted", "expired"
ENDED = (COMPLETED, ABORTED, EXPIRED)


def session_prefix(session_id: str) -> str:
    """Where a session's parts live in storage (the seed's `s3_upload_id`)."""
    return f"uploads/{session_id}"


def part_name(session_id: str, number: int) -> str:
    """Where part `number` of a session lives in storage."""
    return f"{session_prefix(session_id)}/part-{number}"


def part_key(number: int) -> str:
    """The key of part `number` in a session's `parts` map."""
    return str(number)


def registered_bytes(session: dict[str, Any], *, besides: int | None = None) -> int:
    """What the session's registered parts add up to (leaving out part `besides`)."""
    skip = None if besides is None else part_key(besides)
    return sum(part["size"] for key, part in (session.get("parts") or {}).items() if key != skip)


class SessionRecords:
    """The sessions collection: lookups and each state change as one conditional update."""

    def __init__(self, collection: Any, *, clock: Callable[[], datetime]) -> None:
        self.collection = collection
        self.clock = clock

    @property
    def name(self) -> str:
        """The collection's name: the `ref` of a session's hold is "<name>/<session id>"."""
        return self.collection.name

    def ensure_indexes(self) -> None:
        """The indexes the housekeeping queries use (idempotent)."""
        # Separate single-field indexes, each query filtering by one of them by equality.
        self.collection.create_index([("status", 1)], name="status")
        self.collection.create_index([("todo", 1)], name="todo", sparse=True)

    def insert(self, session: dict[str, Any]) -> None:
        """Store a new session."""
        self.collection.insert_one(dict(session))

    def get(self, session_id: str) -> dict[str, Any] | None:
        """A session by id, whoever owns it (for housekeeping)."""
        return self.collection.find_one({"_id": session_id})

    def find(self, owner: str, session_id: str) -> dict[str, Any] | None:
        """The owner's session by id; None for anyone else's."""
        return self.collection.find_one({"_id": session_id, "owner": owner})

    def delete(self, session_id: str) -> None:
        """Forget a session that never reached its client (create failed)."""
        self.collection.delete_one({"_id": session_id})

    def _open(self, session_id: str) -> dict[str, Any]:
        """Uploading and not being completed: what presign, register and abort require."""
        return {
            "_id": session_id,
            "status": UPLOADING,
            "lock.until": {"$not": {"$gt": self.clock()}},
        }

    def note_presigned(self, session_id: str, number: int, url_until: datetime) -> bool:
        """Remember that part `number` may now be written, until `url_until` at most."""
        result = self.collection.update_one(
            self._open(session_id),
            {"$addToSet": {"presigned": number}, "$max": {"urls_until": url_until}},
        )
        return result.matched_count == 1

    def register(
        self, session_id: str, number: int, previous: str | None, part: dict[str, Any]
    ) -> bool:
        """Record part `number` if the part registered before is still `previous` (generation)."""
        key = f"parts.{part_key(number)}"
        expected = {"$exists": False} if previous is None else previous
        field = key if previous is None else f"{key}.generation"
        result = self.collection.update_one(
            {**self._open(session_id), field: expected}, {"$set": {key: part}}
        )
        return result.modified_count == 1

    def unregister(self, session_id: str, number: int, generation: str, previous: Any) -> bool:
        """Put back what part `number` was (None: nothing), if it is still `generation`."""
        key = f"parts.{part_key(number)}"
        change = {"$unset": {key: ""}} if previous is None else {"$set": {key: previous}}
        result = self.collection.update_one(
            {"_id": session_id, f"{key}.generation": generation}, change
        )
        return result.modified_count == 1

    def lock(self, session_id: str, attempt: str, seconds: float) -> dict[str, Any] | None:
        """Take the session for one `complete` (uploading, nobody else's lock in force)."""
        return self.collection.find_one_and_update(
            self._open(session_id),
            {"$set": {"lock": {"id": attempt, "until": self.clock() + timedelta(seconds=seconds)}}},
            return_document=ReturnDocument.AFTER,
        )

    def hold_total(self, session_id: str, attempt: str, total: int) -> bool:
        """Under our lock: the hold should now hold `total`, the size being completed."""
        result = self.collection.update_one(
            {"_id": session_id, "status": UPLOADING, "lock.id": attempt},
            {"$set": {"lock.total": total}},
        )
        return result.modified_count == 1

    def unlock(self, session_id: str, attempt: str) -> None:
        """Give up our lock (a failed complete): the session is completable again."""
        self.collection.update_one(
            {"_id": session_id, "lock.id": attempt}, {"$unset": {"lock": ""}}
        )

    def complete(
        self, session_id: str, attempt: str, final: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The commit point: uploading -> completed, only while our lock holds."""
        return self.collection.find_one_and_update(
            {"_id": session_id, "status": UPLOADING, "lock.id": attempt},
            {
                "$set": {
                    "status": COMPLETED,
                    "final": final,
                    "completed_at": self.clock(),
                    "todo": True,
                },
                "$unset": {"lock": ""},
            },
            return_document=ReturnDocument.AFTER,
        )

    def end(self, session_id: str, status: str, **where: Any) -> dict[str, Any] | None:
        """uploading -> aborted or expired, unless a `complete` holds the session."""
        return self.collection.find_one_and_update(
            {**self._open(session_id), **where},
            {"$set": {"status": status, "ended_at": self.clock(), "todo": True}},
            return_document=ReturnDocument.AFTER,
        )

    def note(self, session_id: str, fields: dict[str, Any]) -> None:
        """Record the progress of a finished session's clean-up."""
        self.collection.update_one({"_id": session_id}, {"$set": fields})

    def done(self, session_id: str) -> None:
        """Nothing is left to clean up after this session."""
        self.collection.update_one({"_id": session_id}, {"$unset": {"todo": ""}})

    def every(self) -> Any:
        """Every session, in any status (for the consistency audit)."""
        return self.collection.find({})

    def expired_ids(self) -> list[str]:
        """Sessions still uploading past their expiry."""
        query = {"status": UPLOADING, "expires_at": {"$lt": self.clock()}}
        return [doc["_id"] for doc in self.collection.find(query, {"_id": 1})]

    def pending_ids(self) -> list[str]:
        """Finished sessions whose clean-up is not done yet."""
        return [doc["_id"] for doc in self.collection.find({"todo": True}, {"_id": 1})]

    def purge(self, before: datetime) -> int:
        """Delete finished, cleaned-up sessions that expired before `before`."""
        result = self.collection.delete_many(
            {
                "status": {"$in": list(ENDED)},
                "todo": {"$exists": False},
                "expires_at": {"$lt": before},
            }
        )
        return result.deleted_count
