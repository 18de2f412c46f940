"""Objects reached through the signed URLs this service serves itself (the local store's)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import BinaryIO

from services.core.errors import Forbidden, PayloadTooLarge
from services.storage.objects import ObjectInfo, ObjectStore

MIB = 1024 * 1024
DEFAULT_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class SignedDownload:
    """An object a signed GET URL may read, and the name it is offered under."""

    info: ObjectInfo
    download_name: str | None
    store: ObjectStore

    def read(self, start: int, end: int) -> Iterator[bytes]:
        """Bytes start..end inclusive, in bounded chunks."""
        return self.store.read_range(self.info.name, start, end)


class SignedObjects:
    """Checks a signed URL, then serves the object it names or stores the body sent to it."""

    def __init__(self, store: ObjectStore, *, read_bytes: int = MIB) -> None:
        if read_bytes <= 0:
            raise ValueError("read_bytes must be positive")
        self.store = store
        self.read_bytes = read_bytes

    def open_download(self, name: str, params: Mapping[str, str]) -> SignedDownload:
        """Verify a GET URL and describe its object (Forbidden, NotFound, ObjectMissing)."""
        grant = self.store.verify_signed(name, "GET", params)
        return SignedDownload(self.store.stat(name), grant.download_name, self.store)

    def receive(
        self,
        name: str,
        params: Mapping[str, str],
        body: BinaryIO,
        *,
        content_type: str | None,
        declared_length: int | None,
    ) -> ObjectInfo:
        """Verify a PUT URL, then stream `body` into the object in bounded reads.

        A body over the URL's limit is refused with PayloadTooLarge: at once when the
        declared length says so, else as soon as the bytes read pass the limit. Any failure
        aborts the upload, so nothing is stored and an older object by that name stays.
        """
        grant = self.store.verify_signed(name, "PUT", params)
        if grant.content_type is not None and content_type != grant.content_type:
            raise Forbidden("Content-Type does not match the signed URL")
        limit = grant.max_bytes
        if limit is not None and declared_length is not None and declared_length > limit:
            raise PayloadTooLarge()
        writer = self.store.open_writer(name, content_type or DEFAULT_TYPE)
        try:
            received = 0
            while chunk := body.read(self.read_bytes):
                received += len(chunk)
                if limit is not None and received > limit:
                    raise PayloadTooLarge()
                writer.write(chunk)
        except BaseException:
            writer.abort()
            raise
        return writer.commit()
