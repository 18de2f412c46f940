"""Creating and changing entities: each change a new version, committed by one atomic write.

Create: the file (if any) is stored first (see files.py), then the form is judged, the MD5
checked against every entity's current file, the parent checked, an id drawn, and the
entity inserted (the commit point; the unique MD5 index decides a race, and the loser's
file is deleted; a write whose answer was lost keeps the file if the entity took it).
PUT and PATCH read the entity, build the next version from it, and move it there with a
write conditional on the version read (another change in between: read again and
rebuild). Each new version is marked pending in the entity and then copied into
the history; a crash between the two leaves the mark, and the copy is made by the next
change of that entity, by reading its history, or by housekeeping. Ids that a failed create
drew are never handed out again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from pymongo.errors import DuplicateKeyError

from services.core.cleanup import quietly
from services.core.errors import Conflict, InvalidRequest, NotFound
from services.core.ingest import Chunk
from services.entities.files import EntityFiles, StoredFile
from services.entities.hierarchy import Hierarchy
from services.entities.records import FILE_FIELDS, EntityRecords

log = logging.getLogger("mediastore.entities")

ENTITY_NOT_FOUND = "Entity not found"
IMAGE_REQUIRED = "Image is required when is_collection is False"
IMAGE_REFUSED = "Image should not be provided when is_collection is True"
PATCHABLE = ("label", "description", "parent_id", "is_deleted")


class DuplicateFile(Conflict):
    """Another entity currently holds a file with the same bytes."""

    def __init__(self, md5: str, holder: int) -> None:
        super().__init__(f"File with MD5 {md5} already exists (entity ID: {holder})")


@dataclass(frozen=True)
class EntityFields:
    """The text fields of a create or replace form (omitted optional fields are None)."""

    is_collection: bool
    label: str | None = None
    description: str | None = None
    parent_id: int | None = None


class SubmittedForm(Protocol):
    """A multipart form as it arrives: its file first, its complete fields once it is read."""

    image: Iterable[Chunk] | None

    def fields(self) -> EntityFields:
        """Every text field, validated; called once `image` has been read to its end."""


def utc_millis(moment: datetime) -> datetime:
    """The moment in UTC to the millisecond, the precision MongoDB keeps."""
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


class EntityChanges:
    """POST, PUT and PATCH of the entity API (see the module docstring)."""

    def __init__(
        self,
        *,
        records: EntityRecords,
        files: EntityFiles,
        hierarchy: Hierarchy,
        clock: Callable[[], datetime],
        retries: int = 5,
    ) -> None:
        self.records = records
        self.files = files
        self.hierarchy = hierarchy
        self.clock = clock
        self.retries = retries

    def create(self, actor: str | None, form: SubmittedForm) -> dict[str, Any]:
        """Store the file, check the form, insert the entity as version 1."""
        stored = self.files.store_upload(form.image) if form.image is not None else None
        bound_to = None
        try:
            fields = form.fields()
            if fields.is_collection and stored is not None:
                raise InvalidRequest(IMAGE_REFUSED)
            if not fields.is_collection and stored is None:
                raise InvalidRequest(IMAGE_REQUIRED)
            if stored is not None:
                self._refuse_duplicate(stored.md5, None)
            with self.hierarchy.guarded(fields.parent_id is not None):
                if fields.parent_id is not None:
                    self.hierarchy.check_parent(None, fields.parent_id)
                doc = self._new_entity(self.records.next_id(), fields, stored, actor)
                if stored is not None:
                    self.files.bind(stored, doc["_id"])
                    bound_to = doc["_id"]
                self._insert(doc)
        except BaseException:
            self._undo_upload(stored, bound_to)
            raise
        if stored is not None:
            self.files.release(stored)
        self._record(doc)
        return doc

    def replace(self, actor: str | None, entity_id: int, form: SubmittedForm) -> dict[str, Any]:
        """PUT: every field from the form (omitted ones null), the file if one is sent."""
        self.live(entity_id)  # 404 before the upload is stored
        stored, bound_to = None, None
        if form.image is not None:
            stored = self.files.store_upload(form.image, entity_id)
        try:
            fields = form.fields()
            current = self.live(entity_id)
            if fields.is_collection != current["is_collection"]:
                raise InvalidRequest(
                    f"Cannot change is_collection from {current['is_collection']} to "
                    f"{fields.is_collection}. is_collection is immutable after entity creation."
                )
            if fields.is_collection and stored is not None:
                raise InvalidRequest(IMAGE_REFUSED)
            if stored is not None:
                self._refuse_duplicate(stored.md5, entity_id)
                self.files.bind(stored, entity_id)
                bound_to = entity_id
            changes = {
                "label": fields.label,
                "description": fields.description,
                "parent_id": fields.parent_id,
            }
            doc = self._advance(entity_id, actor, "update", changes, stored)
        except BaseException:
            self._undo_upload(stored, bound_to)
            raise
        if stored is not None:
            # Kept only if it is now the entity's file: the same bytes again reuse the object
            # the entity already keeps for them.
            if doc["files"].get(stored.md5) == stored.object_name:
                self.files.release(stored)
            else:
                self.files.discard(stored)
        return doc

    def patch(self, actor: str | None, entity_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        """PATCH: only the fields present change (null clears); is_deleted soft-deletes."""
        present = {name: changes[name] for name in PATCHABLE if name in changes}
        return self._advance(entity_id, actor, "patch", present, None)

    def live(self, entity_id: int) -> dict[str, Any]:
        """The entity's current document; NotFound if it does not exist or is being deleted."""
        doc = self.records.get(entity_id)
        if doc is None:
            raise NotFound(ENTITY_NOT_FOUND)
        return doc

    def record_pending(self, doc: dict[str, Any]) -> None:
        """Copy the entity's current version into its history if a crash left it out."""
        if doc.get("pending_version"):
            self.records.record_version(doc)

    # Steps.

    def _new_entity(
        self, entity_id: int, fields: EntityFields, stored: StoredFile | None, actor: str | None
    ) -> dict[str, Any]:
        now = utc_millis(self.clock())
        file_fields = stored.fields() if stored is not None else dict.fromkeys(FILE_FIELDS)
        doc: dict[str, Any] = {
            "_id": entity_id,
            "is_collection": fields.is_collection,
            "label": fields.label,
            "description": fields.description,
            "parent_id": fields.parent_id,
            "added_date": now,
            "updated_date": now,
            **file_fields,
            "is_deleted": False,
            "added_by": actor,
            "updated_by": actor,
            "version": 1,
            "change": "create",
            "object_name": stored.object_name if stored is not None else None,
            "files": {stored.md5: stored.object_name} if stored is not None else {},
            "purging": False,
            "pending_version": True,
        }
        if doc["md5"] is None:
            del doc["md5"]  # the sparse unique index judges files only
        return doc

    def _insert(self, doc: dict[str, Any]) -> None:
        for _ in range(self.retries):
            try:
                self.records.insert(doc)
                return
            except DuplicateKeyError:
                self._refuse_duplicate(doc["md5"], None)  # the holder may have gone meanwhile
        raise Conflict(f"File with MD5 {doc['md5']} is being changed; please try again")

    def _advance(
        self,
        entity_id: int,
        actor: str | None,
        change: str,
        fields: dict[str, Any],
        stored: StoredFile | None,
    ) -> dict[str, Any]:
        """Move the entity to its next version with `fields` (and the file), retrying races."""
        for _ in range(self.retries):
            current = self.live(entity_id)
            self.record_pending(current)
            changes = {
                **fields,
                "updated_date": utc_millis(self.clock()),
                "updated_by": actor,
                "change": change,
            }
            if stored is not None and stored.md5 != current.get("md5"):
                name = current["files"].get(stored.md5, stored.object_name)
                changes.update(stored.fields(), object_name=name)
                changes[f"files.{stored.md5}"] = name
            doc = self._commit(entity_id, current, changes)
            if doc is not None:
                self._record(doc)
                return doc
        raise Conflict(f"Entity {entity_id} was changed by another request; please try again")

    def _commit(
        self, entity_id: int, current: dict[str, Any], changes: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The conditional write of one change, under the hierarchy lock when it moves."""
        parent = changes.get("parent_id")
        moving = "parent_id" in changes and parent is not None and parent != current["parent_id"]
        with self.hierarchy.guarded(moving):
            if moving:
                self.hierarchy.check_parent(entity_id, parent)
            try:
                return self.records.replace_state(entity_id, current["version"], changes)
            except DuplicateKeyError:
                self._refuse_duplicate(changes["md5"], entity_id)
                return None  # the holder went away meanwhile: try again

    def _undo_upload(self, stored: StoredFile | None, bound_to: int | None) -> None:
        """After a failure, delete the upload unless the entity's write may have taken it.

        A write whose answer was lost (an outage) may have taken effect: the entity is
        asked. When it holds the file, or cannot be asked, the bound upload record is left
        for housekeeping, which deletes the object only if no entity holds it.
        """
        if stored is None:
            return
        if bound_to is not None:
            held = quietly(lambda: self.records.holds(bound_to, stored.object_name), log)
            if held is not False:
                return
        self.files.discard(stored)

    def _refuse_duplicate(self, md5: str, own_id: int | None) -> None:
        holder = self.records.holder_of(md5)
        if holder is not None and holder != own_id:
            raise DuplicateFile(md5, holder)

    def _record(self, doc: dict[str, Any]) -> None:
        # The change is committed; a failed copy is finished later (module docstring).
        quietly(lambda: self.records.record_version(doc), log)
