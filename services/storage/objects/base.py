"""The object storage contract every backend implements."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO, Protocol


def strong_etag(generation: str) -> str:
    """The ETag of one stored version: it changes whenever the object is rewritten."""
    return f'"{generation}"'


@dataclass(frozen=True)
class ObjectInfo:
    """What storage knows of a committed object."""

    name: str
    size: int
    content_type: str
    generation: str
    # Lowercase hex MD5 of the bytes; None where the backend does not know it (composed
    # objects, local objects written before the store recorded it).
    md5: str | None = None

    @property
    def etag(self) -> str:
        """A strong validator that changes whenever the object is rewritten."""
        return strong_etag(self.generation)


@dataclass(frozen=True)
class ListedObject:
    """One object found by list_objects: its name, size and when it was stored."""

    name: str
    size: int
    created: datetime


@dataclass(frozen=True, kw_only=True)
class SignedUpload:
    """A URL that stores one object: send `method` with exactly `headers` before expiry."""

    url: str
    method: str = "PUT"
    headers: dict[str, str] = field(default_factory=dict)
    expires_at: datetime


@dataclass(frozen=True)
class SignedGrant:
    """What a verified signed URL allows: one method, and that method's conditions."""

    method: str
    download_name: str | None = None  # GET: offered as the attachment's name
    max_bytes: int | None = None  # PUT: the largest body accepted
    content_type: str | None = None  # PUT: the Content-Type the client must send


class FileRange(Iterator[bytes]):
    """Bytes start..end inclusive of an object that is a local file.

    Iterating yields bounded chunks, opening the file on the first next(), like any
    read_range. A server that can send a file from the kernel (gunicorn's sendfile) gets it
    whole from open() instead: positioned at `start`, `length` bytes to send, the object
    running to the end of the file. `opener` returns the open file and the offset in it
    where the object's bytes begin (after the local store's header). Errors are the
    store's (ObjectMissing, StorageUnavailable), raised by whichever is called first.
    """

    def __init__(
        self,
        opener: Callable[[], tuple[BinaryIO, int]],
        start: int,
        end: int,
        chunk_bytes: int,
    ) -> None:
        self._opener = opener
        self.start = start
        self.length = end - start + 1
        self.chunk_bytes = chunk_bytes
        self._file: BinaryIO | None = None
        self._remaining = self.length

    def open(self) -> BinaryIO:
        """The file at `start`; the caller owns it (and iterating this range is then over)."""
        file = self._open_at_start()
        self._remaining = 0
        return file

    def __next__(self) -> bytes:
        if self._remaining <= 0:
            self.close()
            raise StopIteration
        if self._file is None:
            self._file = self._open_at_start()
        chunk = self._file.read(min(self.chunk_bytes, self._remaining))
        if not chunk:
            self._remaining = 0
            return next(self)
        self._remaining -= len(chunk)
        return chunk

    def _open_at_start(self) -> BinaryIO:
        file, offset = self._opener()
        try:
            file.seek(offset + self.start)
        except BaseException:
            file.close()
            raise
        return file

    def close(self) -> None:
        """Close the file opened by iteration, if any."""
        if self._file is not None:
            self._file.close()
            self._file = None


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

    Errors: a missing object raises services.core.errors.ObjectMissing; a backend that cannot
    be reached raises services.core.errors.StorageUnavailable; verify_signed refuses with
    Forbidden or NotFound; bad arguments (names, ranges, TTLs) are ValueErrors. Nothing
    else escapes. Every md5 is lowercase hex, or None where the backend keeps none.
    """

    def open_writer(self, name: str, content_type: str) -> ObjectWriter:
        """Start a streamed upload of `name`, replacing any object by that name on commit."""

    def stat(self, name: str) -> ObjectInfo:
        """Describe a committed object."""

    def read_range(self, name: str, start: int, end: int) -> Iterator[bytes]:
        """Yield bytes start..end inclusive in bounded chunks (never the whole object at once).

        A store whose objects are local files returns a FileRange, which a server may send
        with sendfile instead of iterating.
        """

    def delete(self, name: str) -> bool:
        """Remove the object; True if it existed. Deleting a missing object is not an error."""

    def compose(self, sources: list[str], destination: str, content_type: str) -> ObjectInfo:
        """Concatenate `sources` in order into `destination`, replacing it atomically.

        A missing source raises ObjectMissing and leaves `destination` as it was; an empty
        list is a ValueError. A source may be named again, or be the destination itself.
        The result's md5 is None: GCS keeps no MD5 of composite objects, and the local
        store copies them in the kernel without reading the bytes.
        """

    def signed_url(self, name: str, ttl_seconds: int, download_name: str | None = None) -> str:
        """A URL that serves the object (with Range support) to anyone holding it until expiry.

        May be relative to the service's own root (the local store); callers make it absolute.
        """

    def signed_upload_url(
        self,
        name: str,
        ttl_seconds: int,
        *,
        content_type: str | None = None,
        max_bytes: int | None = None,
    ) -> SignedUpload:
        """A URL through which anyone holding it may store `name` (replacing it) until expiry.

        With `content_type` the client must send exactly that Content-Type; with
        `max_bytes` a longer body is refused and nothing is stored. The returned headers
        are the ones the client must send. A PUT URL never reads, a GET URL never writes.
        May be relative to the service's own root (the local store).
        """

    def verify_signed(self, name: str, method: str, params: Mapping[str, str]) -> SignedGrant:
        """Check a signed URL this service serves itself (its path's name and query).

        Raises Forbidden for a bad or expired signature or the wrong method, and NotFound
        where the store's URLs are never served by this service (GCS serves its own).
        """

    def ping(self) -> None:
        """Raise StorageUnavailable unless the backend answers."""

    def list_objects(self, prefix: str) -> Iterator[ListedObject]:
        """Every committed object whose name starts with `prefix` (for the consistency audit).

        `created` is when the object was stored: the store's clock on the local store,
        GCS's `timeCreated` on GCS.
        """
