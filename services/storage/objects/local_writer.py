"""The local store's streamed upload: bytes to a temporary file, then one commit."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from services.core.errors import StorageUnavailable
from services.storage.objects.base import ObjectInfo
from services.storage.objects.direct_io import DirectFile
from services.storage.objects.hashing import BackgroundMD5
from services.storage.objects.local_format import encode_header, header_room, unlink_quietly

if TYPE_CHECKING:
    import pathlib

    from services.storage.objects.local import LocalObjectStore

TMP_DIR = ".tmp"


class LocalObjectWriter:
    """An upload into a temporary file that commit() moves into place."""

    def __init__(
        self,
        store: LocalObjectStore,
        name: str,
        record: pathlib.Path,
        content_type: str,
        md5: BackgroundMD5,
    ) -> None:
        self._store = store
        self._name = name
        self._record = record
        self._content_type = content_type
        self._room = header_room(content_type)
        self._tmp = store.root / TMP_DIR / uuid.uuid4().hex
        try:
            # Past the page cache where the file system allows: see direct_io.
            self._file = DirectFile(self._tmp, buffers=store._buffers)
        except OSError as exc:
            raise StorageUnavailable(f"cannot start upload: {exc}") from exc
        # The header's place, written at commit; a whole number of blocks, it only fills
        # the buffer, so the bytes that follow stay aligned and nothing is written yet.
        self._file.write(bytes(self._room))
        # Hashed as it is written, on another core: the MD5 costs no second read of the file.
        self._md5 = md5
        self._closed = False

    def write(self, chunk: bytes) -> None:
        """Append bytes to the temporary file."""
        if self._closed:
            raise ValueError("writer is closed")
        self._md5.update(chunk)
        try:
            self._file.write(chunk)
        except OSError as exc:
            raise StorageUnavailable(f"cannot write upload: {exc}") from exc

    def commit(self) -> ObjectInfo:
        """Make the bytes and their record durable in one file, then move it into place."""
        if self._closed:
            raise ValueError("writer is closed")
        store = self._store
        try:
            self._md5.flush()  # the last batch hashes while the last block is written
            self._file.flush()
            size = self._file.size - self._room
            fields, replaced = store._new_fields(
                self._name, self._record, self._content_type, size, self._md5.hexdigest()
            )
            self._file.finish(encode_header(fields, self._room))
            info = store._install(self._name, self._record, self._tmp, fields, replaced)
        except OSError as exc:
            self.abort()
            raise StorageUnavailable(f"cannot commit upload: {exc}") from exc
        self._closed = True
        return info

    def abort(self) -> None:
        """Close and remove the temporary file."""
        self._closed = True
        self._md5.close()
        self._file.close()
        unlink_quietly(self._tmp)
