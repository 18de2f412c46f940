"""The entity library (seed 004): what the entity API's views call, one method per endpoint.

Entities are one shared library of images, videos and collections, with a history of every
change; they count toward no user's quota. Writes are in changes.py and purge.py (each
says what a failure between its writes leaves and who finishes it), files in files.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.core.errors import Forbidden, NotFound, UnsupportedMediaType
from services.core.paging import Page
from services.entities.access import EntityAccess
from services.entities.changes import EntityChanges, SubmittedForm
from services.entities.files import EntityFiles
from services.entities.listing import ListQuery, list_items
from services.entities.purge import EntityPurge
from services.entities.records import EntityRecords, item_of
from services.entities.tokens import INVALID_TOKEN, FileTokens
from services.previews import Previews
from services.storage.objects import ObjectInfo, ObjectStore, strong_etag

NO_VERSIONS = "Entity not found or no versions available"
HISTORY_FIELDS = ("version", "updated_date", "updated_by", "change")


@dataclass(frozen=True)
class EntityFile:
    """The file of one version of an entity, as a download describes it."""

    entity_id: int
    object_name: str
    size: int
    content_type: str
    md5: str
    extension: str

    @property
    def etag(self) -> str:
        """Strong, from the bytes: every version with the same file has the same ETag."""
        return strong_etag(self.md5)

    @property
    def download_name(self) -> str:
        return f"{self.md5}.{self.extension}"

    def as_object(self) -> ObjectInfo:
        """The stored object; an entity's object never changes, so its MD5 is its generation."""
        return ObjectInfo(self.object_name, self.size, self.content_type, self.md5, self.md5)


@dataclass(frozen=True)
class SignedFile:
    """A token that reads one version's file and thumbnail without a bearer token."""

    entity_id: int
    version: int
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class EntityService:
    """Reads here; creates, changes and deletes delegated to their modules."""

    records: EntityRecords
    changes: EntityChanges
    purge: EntityPurge
    files: EntityFiles
    access: EntityAccess
    store: ObjectStore
    file_tokens: FileTokens | None = None
    previews: Previews | None = None
    # Where absolute URLs point (PUBLIC_BASE_URL); None: the request's own host.
    public_base_url: str | None = None

    @property
    def max_file_bytes(self) -> int:
        """The largest file an entity may hold."""
        return self.files.max_bytes

    def list(self, query: ListQuery) -> Page[dict[str, Any]]:
        """One page of Items (see listing.list_items)."""
        return list_items(self.records, query)

    def get(self, entity_id: int, version: int | None = None) -> dict[str, Any]:
        """The entity's Item now, or as it was in `version`."""
        return item_of(self._state(entity_id, version))

    def versions(self, entity_id: int) -> list[dict[str, Any]]:
        """The entity's history, oldest first: version, updated_date, updated_by, change."""
        doc = self.records.get(entity_id)
        if doc is None:
            raise NotFound(NO_VERSIONS)
        self.changes.record_pending(doc)
        history = self.records.history(entity_id)
        if not history:
            raise NotFound(NO_VERSIONS)
        return [{name: version.get(name) for name in HISTORY_FIELDS} for version in history]

    def create(self, actor: str | None, form: SubmittedForm) -> dict[str, Any]:
        """POST: a new entity from a form (see changes.py)."""
        return item_of(self.changes.create(actor, form))

    def replace(self, actor: str | None, entity_id: int, form: SubmittedForm) -> dict[str, Any]:
        """PUT: every field of the entity from a form."""
        return item_of(self.changes.replace(actor, entity_id, form))

    def patch(self, actor: str | None, entity_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        """PATCH: the fields given, nothing else."""
        return item_of(self.changes.patch(actor, entity_id, changes))

    def delete(self, entity_id: int) -> dict[str, Any]:
        """DELETE: the entity, its history and its files, for good; returns its last Item."""
        return item_of(self.purge.delete(entity_id))

    def file(self, entity_id: int, version: int | None = None) -> EntityFile:
        """The file the entity holds now, or held in `version`."""
        doc = self._state(entity_id, version)
        if not doc.get("object_name"):
            raise NotFound(f"Entity {entity_id} has no file")
        return EntityFile(
            entity_id,
            doc["object_name"],
            doc["file_size"],
            doc["mime_type"],
            doc["md5"],
            doc["extension"],
        )

    def read(self, file: EntityFile, start: int, end: int) -> Iterator[bytes]:
        """Bytes start..end inclusive of an entity's file, in bounded chunks."""
        return self.store.read_range(file.object_name, start, end)

    def sign_file(self, entity_id: int, version: int | None = None) -> SignedFile:
        """A short-lived token for the file of this version (the current one if None)."""
        doc = self._state(entity_id, version)
        if not doc.get("object_name") or self.file_tokens is None:
            raise NotFound(f"Entity {entity_id} has no file")
        token, expires_at = self.file_tokens.issue(entity_id, doc["version"])
        return SignedFile(entity_id, doc["version"], token, expires_at)

    def check_file_token(self, token: str, entity_id: str, version: str | None) -> None:
        """Forbidden unless `token` was issued for this entity version and has not expired."""
        if self.file_tokens is None:
            raise Forbidden(INVALID_TOKEN)
        self.file_tokens.verify(token, entity_id, version)

    def thumbnail(self, entity_id: int, version: int | None = None) -> ObjectInfo:
        """A JPEG of the image, or of a video's frame at ~10%, made once and kept beside it."""
        file = self.file(entity_id, version)
        if self.previews is None:
            raise UnsupportedMediaType("No preview can be made of this file")
        return self.previews.preview(file.as_object())

    def read_thumbnail(self, thumbnail: ObjectInfo, start: int, end: int) -> Iterator[bytes]:
        """Bytes start..end inclusive of a thumbnail from thumbnail()."""
        return self.store.read_range(thumbnail.name, start, end)

    def housekeeping(self) -> int:
        """Finish whatever crashed requests left half done (a relay task)."""
        return self.purge.housekeeping()

    def _state(self, entity_id: int, version: int | None) -> dict[str, Any]:
        doc = self.changes.live(entity_id)
        if version is None or version == doc["version"]:
            return doc
        snapshot = self.records.version(entity_id, version)
        if snapshot is None:
            raise NotFound(f"Entity {entity_id} version {version} not found")
        return snapshot
