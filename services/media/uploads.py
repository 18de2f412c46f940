"""Media uploads: typed by their bytes, stored through the shared write path, then announced."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.core.accounts import Accounts
from services.core.claims import Claims
from services.core.cleanup import quietly
from services.core.errors import BandwidthExceeded, QuotaExceeded
from services.core.ingest import Accept, Chunk
from services.core.names import check_filename
from services.core.sniff import sniff_document, sniff_image
from services.core.users import User
from services.core.writes import WritePath
from services.media.events import Announcer
from services.media.records import (
    UPLOAD,
    MediaFile,
    file_type_of,
    generated_name,
    object_name_for,
)
from services.storage.objects import ObjectInfo

log = logging.getLogger("mediastore.media")

MIB = 1024 * 1024
# This API's words for the shared refusals (answered 403 as {"detail": ...}).
QUOTA_MESSAGE = "Storage quota exceeded: this file would take your account past its limit"
BANDWIDTH_MESSAGE = "Daily upload bandwidth exceeded: try again tomorrow (UTC)"


@dataclass(frozen=True)
class UploadFields:
    """The form's metadata, validated at the edge once the whole body has been read."""

    context_type: str | None = None
    context_id: str | None = None
    is_public: bool = False
    expires_in: int | None = None


def media_accept(image_types: Iterable[str], document_types: Iterable[str], max_mib: int) -> Accept:
    """What an upload may be: one of the allowed types, judged by its bytes, of max_mib MiB."""
    allowed = frozenset(image_types) | frozenset(document_types)

    def sniff(prefix: bytes) -> str | None:
        found = sniff_image(prefix) or sniff_document(prefix)
        return found if found in allowed else None

    return Accept(
        sniff,
        max_mib * MIB,
        unsupported=f"Unsupported file type; allowed: {', '.join(sorted(allowed))}",
        too_large=f"File exceeds the maximum size of {max_mib} MB",
    )


class MediaUploads:
    """Streams one file into the owner's media through the shared write path.

    The claim is the file's own record in `media`, under a new UUID. The commit step asks the
    edge for the form's fields (they may follow the file in the body, so they are read only
    once every byte has arrived: a bad field undoes the stored bytes), then marks the record
    stored with `event_pending`. The write path settles the hold; the Announcer adds the
    event. Any failure before the commit leaves nothing: no object, no record, no charge, no
    event (services/core/writes.py). A failure after it leaves a stored file whose event the
    relay's housekeeping adds (services/media/events.py).
    """

    def __init__(
        self,
        *,
        claims: Claims,
        writes: WritePath,
        accounts: Accounts,
        announcer: Announcer,
        accept: Accept,
        clock: Callable[[], datetime],
    ) -> None:
        self.claims = claims
        self.writes = writes
        self.accounts = accounts
        self.announcer = announcer
        self.accept = accept
        self.clock = clock

    def upload(
        self,
        user: User,
        filename: str,
        chunks: Iterable[Chunk],
        fields: Callable[[], UploadFields],
    ) -> MediaFile:
        """Store one file for the user; undo everything if any step before the commit fails."""
        original = check_filename(filename)
        self.accounts.ensure(user)
        # Housekeeping: its failure must not cost the user this upload.
        quietly(lambda: self.reclaim_abandoned(owner=user.id), log)
        media_id = str(uuid.uuid4())
        claim = self.claims.take(
            {
                "owner": user.id,
                "kind": UPLOAD,
                "object_name": object_name_for(user.id, media_id),
                "original_file_name": original,
            },
            claim_id=media_id,
        )
        try:
            written = self.writes.write(claim, chunks, self.accept, self._commit_step(fields))
        except QuotaExceeded as error:
            raise QuotaExceeded(QUOTA_MESSAGE) from error
        except BandwidthExceeded as error:
            raise BandwidthExceeded(BANDWIDTH_MESSAGE) from error
        doc = written.result
        # The file is stored: a failure to announce it is the housekeeping's to finish.
        quietly(lambda: self.announcer.announce(doc), log)
        return MediaFile.from_document(doc)

    def reclaim_abandoned(self, owner: str | None = None) -> int:
        """Undo uploads whose lease expired (a dead process's), of one owner or of all."""
        where: dict[str, Any] = {"kind": UPLOAD}
        if owner is not None:
            where["owner"] = owner
        return self.writes.reclaim(where)

    def _commit_step(
        self, fields: Callable[[], UploadFields]
    ) -> Callable[[dict[str, Any], ObjectInfo], dict[str, Any]]:
        def commit(claim: dict[str, Any], info: ObjectInfo) -> dict[str, Any]:
            meta = fields()
            now = self.clock()
            expires_at = now + timedelta(seconds=meta.expires_in) if meta.expires_in else None
            return self.claims.commit(
                claim["_id"],
                {
                    "file_name": generated_name(claim["_id"], info.content_type),
                    "file_type": file_type_of(info.content_type),
                    "mime_type": info.content_type,
                    "file_size": info.size,
                    "generation": str(info.generation),
                    "md5": info.md5,
                    "context_type": meta.context_type,
                    "context_id": meta.context_id,
                    "is_public": meta.is_public,
                    "expires_at": expires_at,
                    "charged": True,
                    "event_pending": True,
                    "stored_at": now,
                },
            )

        return commit
