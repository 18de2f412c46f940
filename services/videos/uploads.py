"""Video uploads: a name claimed in the owner's library, stored through the shared write path."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from services.core.accounts import Accounts, AccountUsage
from services.core.claims import UPLOADING, Claims
from services.core.cleanup import quietly
from services.core.errors import BandwidthExceeded, Conflict, QuotaExceeded
from services.core.ingest import Accept, Chunk
from services.core.names import check_filename, new_object_name
from services.core.sniff import sniff_video
from services.core.usage import UsageLog
from services.core.users import User
from services.core.writes import WritePath
from services.storage.objects import ObjectInfo
from services.videos.landing import NAME_TAKEN, free_names

log = logging.getLogger("mediastore.uploads")

# The video API's own words (seed 003) for the core's neutral refusals.
QUOTA_MESSAGE = "Exceeds storage limit, cannot upload video..!!"
BANDWIDTH_MESSAGE = "Bandwidth limit exceeded or some internal upload error"
NOT_A_VIDEO = "Only video files are accepted"


@dataclass(frozen=True)
class UploadReceipt:
    """What the uploader is told: the stored file and the account after it."""

    filename: str
    size: int
    content_type: str
    usage: AccountUsage


class VideoUploads:
    """Streams one video into the owner's library through the shared write path.

    The claim is the file's own record in `files` ({owner, filename} unique): a second upload
    of a name gets 409 while the first is in progress or stored. The commit step records the
    day's usage (keyed by the upload, so an undo or a reclaim can take it back) and then
    marks the file stored. A process that dies mid-upload leaves an uploading claim with a
    lease; once it has expired, the owner's next upload (of any name) reclaims it, and
    reclaim_abandoned() does the same for every user, for a scheduled job.
    """

    def __init__(
        self,
        *,
        claims: Claims,
        writes: WritePath,
        accounts: Accounts,
        usage: UsageLog,
        clock: Callable[[], datetime],
        max_upload_bytes: int,
        object_prefix: str = "videos",
    ) -> None:
        self.claims = claims
        self.writes = writes
        self.accounts = accounts
        self.usage = usage
        self.clock = clock
        self.accept = Accept(sniff_video, max_upload_bytes, unsupported=NOT_A_VIDEO)
        self.object_prefix = object_prefix

    def upload(
        self, user: User, filename: str, chunks: Iterable[Chunk], *, rename: bool = False
    ) -> UploadReceipt:
        """Store one video for the user; undo everything if any step fails.

        A taken name is 409, or with `rename` the first free `name (2).ext` spelling
        (services/videos/landing.py); the receipt names the file as stored.
        """
        name = check_filename(filename)
        self.accounts.ensure(user)
        # Housekeeping: its failure must not cost the user this upload.
        quietly(lambda: self.reclaim_abandoned(owner=user.id), log)
        claim = self._claim_free(user, name) if rename else self._claim(user, name)
        try:
            written = self.writes.write(claim, chunks, self.accept, self._commit_for(user))
        except QuotaExceeded as error:
            raise QuotaExceeded(QUOTA_MESSAGE) from error
        except BandwidthExceeded as error:
            raise BandwidthExceeded(BANDWIDTH_MESSAGE) from error
        stored = claim["filename"]
        return UploadReceipt(stored, written.info.size, written.info.content_type, written.usage)

    def reclaim_abandoned(self, owner: str | None = None) -> int:
        """Undo uploads whose lease expired (a dead process's), of one owner or of all."""
        return self.writes.reclaim({"owner": owner} if owner is not None else None)

    def forget_usage(self, claim: dict[str, Any]) -> None:
        """Take back the usage entry of a reclaimed upload (see WritePath.on_reclaim)."""
        self.usage.forget_upload(claim["owner"], claim["_id"])

    def _claim_free(self, user: User, name: str) -> dict[str, Any]:
        """Claim the first free spelling of the name."""
        for candidate in free_names(name):
            try:
                return self._claim(user, candidate)
            except Conflict:
                continue
        raise Conflict(NAME_TAKEN)

    def _claim(self, user: User, name: str) -> dict[str, Any]:
        """Claim the name; a name held by an upload whose lease ran out is reclaimed first."""
        fields = {
            "owner": user.id,
            "filename": name,
            "object_name": new_object_name(self.object_prefix, user.id),
        }
        try:
            return self.claims.take(fields)
        except DuplicateKeyError:
            pass
        abandoned = self.claims.collection.find_one(
            {"owner": user.id, "filename": name, "state": UPLOADING}, {"_id": 1}
        )
        if abandoned is None or not self.writes.reclaim({"_id": abandoned["_id"]}):
            raise Conflict(NAME_TAKEN)
        try:
            return self.claims.take(fields)
        except DuplicateKeyError:
            raise Conflict(NAME_TAKEN) from None

    def _commit_for(self, user: User) -> Callable[[dict[str, Any], ObjectInfo], dict[str, Any]]:
        """The commit step: the day's usage entry, then the file stored (the commit point)."""

        def commit(claim: dict[str, Any], info: ObjectInfo) -> dict[str, Any]:
            now = self.clock()
            self.usage.record_upload(user, claim["filename"], info.size, now, claim["_id"])
            try:
                return self.claims.commit(
                    claim["_id"],
                    {
                        "size": info.size,
                        "content_type": info.content_type,
                        "generation": info.generation,
                        "uploaded_at": now,
                    },
                )
            except BaseException:
                quietly(lambda: self.usage.forget_upload(user.id, claim["_id"]), log)
                raise

        return commit
