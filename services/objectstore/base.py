"""The object storage contract every backend implements."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ObjectInfo:
    """What storage knows of a committed object."""

    name: str
    size: int
    content_type: str
    generation: str

    @property
    def etag(self) -> str:
        """A strong validator that changes whenever the object is rewritten."""
        return f'"{self.generation}"'


class ObjectWriter(Protocol):
    """An upload in progress. Nothing is visible under the name until commit() returns."""

    def write(self, chunk: bytes) -> None:
        """Append bytes; buffers at most one storage chunk in memory."""

    def commit(self) -> ObjectInfo:
        """Finish the upload and make the object visible; returns its final description."""

    def abort(self) -> None:
        """Discard everything written; safe to call after a failure and more than once."""


class ObjectStore(Protocol):
    """A flat namespace of immutable objects.

    Errors: a missing object raises services.errors.ObjectMissing; a backend that cannot
    be reached raises services.errors.StorageUnavailable. Nothing else escapes.
    """

    def open_writer(self, name: str, content_type: str) -> ObjectWriter:
        """Start a streamed upload of `name`, replacing any object by that name on commit."""

    def stat(self, name: str) -> ObjectInfo:
        """Describe a committed object."""

    def read_range(self, name: str, start: int, end: int) -> Iterator[bytes]:
        """Yield bytes start..end inclusive in bounded chunks (never the whole object at once)."""

    def delete(self, name: str) -> bool:
        """Remove the object; True if it existed. Deleting a missing object is not an error."""

    def signed_url(self, name: str, ttl_seconds: int, download_name: str | None = None) -> str:
        """A URL that serves the object (with Range support) to anyone holding it until expiry.

        May be relative to the service's own root (the local store); callers make it absolute.
        """

    def ping(self) -> None:
        """Raise StorageUnavailable unless the backend answers."""
