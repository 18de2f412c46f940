"""Free names for recordings, and objects stored elsewhere recorded as library videos."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from services.core.claims import STORED
from services.core.errors import Conflict
from services.core.names import MAX_NAME_BYTES
from services.core.usage import UsageLog
from services.core.users import User
from services.storage.objects import ObjectInfo

NAME_TAKEN = "File with the same name already exists."
# How many suffixed spellings of one name are tried before the name counts as taken.
MAX_SUFFIX = 1000


def free_names(name: str, limit: int = MAX_SUFFIX) -> Iterator[str]:
    """The name, then `stem (2).ext`, `stem (3).ext`, ... up to (limit).

    The suffix goes before the extension, as browsers name a second download. A name too
    long for its suffix loses characters from the end of its stem, never its extension.
    """
    yield name
    stem, extension = split_extension(name)
    for number in range(2, limit + 1):
        suffix = f" ({number})"
        cut = stem
        while cut and len(f"{cut}{suffix}{extension}".encode()) > MAX_NAME_BYTES:
            cut = cut[:-1]
        if not cut:
            return  # only an absurdly long extension gets here: no spelling fits
        yield f"{cut}{suffix}{extension}"


def split_extension(name: str) -> tuple[str, str]:
    """("recording", ".webm") for "recording.webm"; a leading dot starts no extension."""
    dot = name.rfind(".")
    if dot <= 0 or dot == len(name) - 1:
        return name, ""
    return name[:dot], name[dot:]


@dataclass(frozen=True)
class LandedVideo:
    """A video recorded in the library by land(): its final name and what it holds."""

    filename: str
    size: int
    content_type: str


class VideoLanding:
    """Records an object that is already stored and paid for as one of the owner's videos.

    Another feature (part uploads) stores and pays for the bytes; this writes the one
    library record, `stored` at once, under the first free spelling of the name, and the
    day's usage entry. Keyed by the caller's landing id (the record's _id), so landing the
    same object again returns the first answer and writes nothing: a caller that failed
    half way simply calls again. Record first, usage second: a failure between the two
    leaves a video without its usage entry, which the repeated call adds.
    """

    def __init__(self, *, files: Any, usage: UsageLog, clock: Callable[[], datetime]) -> None:
        self.files = files
        self.usage = usage
        self.clock = clock

    def land(self, user: User, filename: str, info: ObjectInfo, landing_id: str) -> LandedVideo:
        """Record `info` as the user's video under a free name; idempotent per landing id."""
        doc = self.files.find_one({"_id": landing_id}) or self._insert(
            user, filename, info, landing_id
        )
        self.usage.record_upload(user, doc["filename"], doc["size"], doc["uploaded_at"], landing_id)
        return LandedVideo(doc["filename"], doc["size"], doc["content_type"])

    def _insert(
        self, user: User, filename: str, info: ObjectInfo, landing_id: str
    ) -> dict[str, Any]:
        now = self.clock()
        for name in free_names(filename):
            doc = {
                "_id": landing_id,
                "owner": user.id,
                "filename": name,
                "object_name": info.name,
                "state": STORED,
                "size": info.size,
                "content_type": info.content_type,
                "generation": info.generation,
                "created_at": now,
                "uploaded_at": now,
            }
            try:
                self.files.insert_one(dict(doc))
                return doc
            except DuplicateKeyError:
                landed = self.files.find_one({"_id": landing_id})
                if landed is not None:  # landed meanwhile by a concurrent call
                    return landed
        raise Conflict(NAME_TAKEN)
