"""Previews kept beside their originals, each made once however many ask for it at once.

A preview of object `o` is the object `o.preview.jpg` and a record in `previews`
({_id: preview name, state, source_generation, lease_until}). The first caller inserts the
record as `rendering` (one insert under the unique _id decides, across instances), renders
from the original by ranges, stores the JPEG, then marks it `ready`. Callers in the same
process queue on a lock and find it ready; callers elsewhere poll the record. A rendering
whose process died is taken over once its lease has run out; a preview of an older
generation of the original is rendered again.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError

from services.core.cleanup import quietly
from services.core.errors import ObjectMissing, StorageUnavailable, UnsupportedMediaType
from services.previews import render
from services.storage.objects import ObjectInfo, ObjectStore
from services.storage.objects.rangefile import ObjectFile

log = logging.getLogger("mediastore.previews")

RENDERING, READY = "rendering", "ready"
SUFFIX = ".preview.jpg"


class Previews:
    """Poster frames of videos and thumbnails of images, stored once per original version."""

    def __init__(
        self,
        *,
        store: ObjectStore,
        records: Any,
        clock: Callable[[], datetime],
        lease_seconds: int = 60,
        wait_seconds: float = 20.0,
    ) -> None:
        self.store = store
        self.records = records
        self.clock = clock
        self.lease = timedelta(seconds=lease_seconds)
        self.wait_seconds = wait_seconds
        self.renders = 0  # how many this process made (for tests and the log)
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def preview(self, source: ObjectInfo) -> ObjectInfo:
        """The preview of this version of `source`, made now if it does not exist yet."""
        name = source.name + SUFFIX
        with self._lock_for(name):
            deadline = time.monotonic() + self.wait_seconds
            while True:
                ready = self._ready(name, source.generation)
                if ready is not None:
                    return ready
                token = self._claim(name, source.generation)
                if token is not None:
                    return self._render(source, name, token)
                if time.monotonic() > deadline:
                    raise StorageUnavailable(f"preview {name} is still being made elsewhere")
                time.sleep(0.05)

    def discard(self, object_name: str) -> None:
        """Delete the preview of an original that is being deleted (best effort)."""
        name = object_name + SUFFIX
        quietly(lambda: self.store.delete(name), log)
        quietly(lambda: self.records.delete_one({"_id": name}), log)

    def _lock_for(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())

    def _ready(self, name: str, generation: str) -> ObjectInfo | None:
        record = self.records.find_one({"_id": name, "state": READY})
        if record is None or record.get("source_generation") != generation:
            return None
        try:
            return self.store.stat(name)
        except ObjectMissing:
            self.records.delete_one({"_id": name, "state": READY})  # lost: make it again
            return None

    def _claim(self, name: str, generation: str) -> str | None:
        """Become the one renderer: insert the record, or take over a stale one."""
        token, now = uuid.uuid4().hex, self.clock()
        fields = {
            "state": RENDERING,
            "token": token,
            "source_generation": generation,
            "lease_until": now + self.lease,
        }
        try:
            self.records.insert_one({"_id": name, **fields})
            return token
        except DuplicateKeyError:
            pass
        stale = {
            "_id": name,
            "$or": [
                {"state": READY, "source_generation": {"$ne": generation}},
                {"state": RENDERING, "lease_until": {"$lt": now}},
            ],
        }
        taken = self.records.update_one(stale, {"$set": fields})
        return token if taken.modified_count == 1 else None

    def _render(self, source: ObjectInfo, name: str, token: str) -> ObjectInfo:
        try:
            file = ObjectFile(self.store, source.name, source.size)
            if source.content_type.startswith("image/"):
                jpeg = render.image_thumbnail(file)
            elif source.content_type.startswith("video/"):
                jpeg = render.video_poster(file)
            else:
                raise UnsupportedMediaType(render.NO_PREVIEW)
            writer = self.store.open_writer(name, "image/jpeg")
            writer.write(jpeg)
            info = writer.commit()
        except BaseException:
            quietly(lambda: self.records.delete_one({"_id": name, "token": token}), log)
            raise
        self.records.update_one(
            {"_id": name, "token": token}, {"$set": {"state": READY}, "$unset": {"lease_until": ""}}
        )
        self.renders += 1
        log.info("made preview %s (%d bytes, read %d)", name, info.size, file.bytes_read)
        return info
