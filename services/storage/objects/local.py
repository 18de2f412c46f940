"""Object storage in a local directory, for development and single-node installs."""

from __future__ import annotations

import contextlib
import os
import pathlib
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import BinaryIO

from services.core.errors import ObjectMissing, StorageUnavailable
from services.storage.objects.base import (
    FileRange,
    ListedObject,
    ObjectInfo,
    SignedGrant,
    SignedUpload,
)
from services.storage.objects.concat import Piece, concatenate
from services.storage.objects.direct_io import AlignedBuffers
from services.storage.objects.hashing import BackgroundMD5
from services.storage.objects.local_format import (
    Record,
    encode_header,
    fsync_dir,
    header_room,
    legacy_data_path,
    read_record,
    unlink_quietly,
)
from services.storage.objects.local_signing import LocalUrlSigner
from services.storage.objects.local_writer import TMP_DIR, LocalObjectWriter

MIB = 1024 * 1024
_MISSING = (FileNotFoundError, NotADirectoryError, IsADirectoryError)


def check_object_name(name: str) -> str:
    """Return `name` if it is a safe relative object name, else raise ValueError."""
    if not isinstance(name, str) or not name:
        raise ValueError("object name must be a non-empty string")
    if name.startswith("/") or "\\" in name or "\0" in name:
        raise ValueError(f"invalid object name: {name!r}")
    for segment in name.split("/"):
        # Leading dots are reserved for the store's own files (temps, generation data).
        if not segment or segment.startswith("."):
            raise ValueError(f"invalid object name: {name!r}")
    return name


def check_range(start: int, end: int) -> None:
    """Raise ValueError unless 0 <= start <= end."""
    if start < 0 or end < start:
        raise ValueError(f"invalid byte range {start}-{end}")


class LocalObjectStore:
    """Objects as files under `root`.

    Layout (local_format.py): `root/<name>` is one file, a header holding the record
    (generation, content type, size, MD5), then the bytes. A new object is written under
    `.tmp/`, made durable with its record (one fsync), and renamed over the name (the commit
    point; then one fsync of the directory). A crash leaves either the old object or the new
    one (plus an invisible temporary), never bytes without their record, and a reader that
    opened one generation keeps reading it while a rewrite commits. Objects stored before
    this layout (a JSON record and a hidden `.<basename>.<generation>`) read as they are.
    """

    def __init__(
        self,
        root: pathlib.Path,
        signing_key: bytes,
        *,
        chunk_bytes: int = 4 * MIB,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if chunk_bytes <= 0:
            raise ValueError("chunk_bytes must be positive")
        if not signing_key:
            raise ValueError("signing_key must not be empty")
        self._root = pathlib.Path(root)
        # Failure here is reported by ping() and the first write, not at construction.
        with contextlib.suppress(OSError):
            self._root.mkdir(parents=True, exist_ok=True)
        self._signer = LocalUrlSigner(signing_key, clock)
        self._clock = clock  # also stamps when each object was stored (list_objects)
        self._chunk_bytes = chunk_bytes
        # Long-lived MD5 helpers (hashing.py), one per core at most: threads start on the
        # first large upload, in the serving process, and no upload starts its own.
        self._hashers = ThreadPoolExecutor(
            max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="md5"
        )
        # Write buffers kept from one upload to the next (direct_io.py).
        self._buffers = AlignedBuffers()

    @property
    def root(self) -> pathlib.Path:
        """The directory every object lives under."""
        return self._root

    def open_writer(self, name: str, content_type: str) -> LocalObjectWriter:
        """Start a streamed upload into a temporary file under the root."""
        record = self._record_path(name)
        tmp_dir = self._root / TMP_DIR
        try:
            tmp_dir.mkdir(exist_ok=True)
        except OSError as exc:
            raise StorageUnavailable(f"cannot write under {self._root}: {exc}") from exc
        return LocalObjectWriter(self, name, record, content_type, BackgroundMD5(self._hashers))

    def stat(self, name: str) -> ObjectInfo:
        """Describe a committed object from its record."""
        return self._read_record(name, self._record_path(name))

    def read_range(self, name: str, start: int, end: int) -> FileRange:
        """Bytes start..end inclusive; the file is opened on the first next() or open()."""
        record = self._record_path(name)
        check_range(start, end)
        return FileRange(lambda: self._open_current(name, record), start, end, self._chunk_bytes)

    def delete(self, name: str) -> bool:
        """Remove the record (the commit point), then any older data file it pointed at."""
        record = self._record_path(name)
        try:
            stored = self._load(name, record)
            record.unlink()
        except ObjectMissing:
            return False
        except FileNotFoundError:
            return False  # Deleted concurrently.
        except OSError as exc:
            raise StorageUnavailable(str(exc)) from exc
        _drop_legacy_data(record, stored)
        return True

    def compose(self, sources: list[str], destination: str, content_type: str) -> ObjectInfo:
        """Concatenate the sources into a new file of `destination` in the kernel, then commit.

        One pass at the speed of a copy (services/storage/objects/concat.py). As on GCS, a
        composed object has no MD5: its md5 is None.
        """
        if not sources:
            raise ValueError("compose needs at least one source")
        target = self._record_path(destination)
        records = [(source, self._record_path(source)) for source in sources]
        for source, record in records:
            self._read_record(source, record)  # a missing part fails before any copying
        openers = [
            lambda source=source, record=record: self._open_piece(source, record)
            for source, record in records
        ]
        tmp = self._root / TMP_DIR / uuid.uuid4().hex
        room = header_room(content_type)
        new: list[tuple[dict, Record | None]] = []
        try:
            tmp.parent.mkdir(exist_ok=True)

            def head(size: int) -> bytes:
                new.append(self._new_fields(destination, target, content_type, size, None))
                return encode_header(new[0][0], room)

            concatenate(openers, tmp, room=room, head=head)
            return self._install(destination, target, tmp, *new[0])
        except OSError as exc:
            unlink_quietly(tmp)
            raise StorageUnavailable(f"cannot compose {destination}: {exc}") from exc
        except BaseException:
            unlink_quietly(tmp)
            raise

    def signed_url(self, name: str, ttl_seconds: int, download_name: str | None = None) -> str:
        """A relative /signed/ URL carrying an expiry and an HMAC over name, expiry, filename."""
        return self._signer.download_url(check_object_name(name), ttl_seconds, download_name)

    def signed_upload_url(
        self,
        name: str,
        ttl_seconds: int,
        *,
        content_type: str | None = None,
        max_bytes: int | None = None,
    ) -> SignedUpload:
        """A relative /signed/ PUT URL, served by this service, signed like the GET URLs."""
        self._record_path(name)
        return self._signer.upload(name, ttl_seconds, content_type, max_bytes)

    def verify_signed(self, name: str, method: str, params: Mapping[str, str]) -> SignedGrant:
        """What an unexpired, untampered /signed/ URL grants; Forbidden otherwise."""
        return self._signer.verify(name, method, params)

    def ping(self) -> None:
        """Raise StorageUnavailable unless the root is a writable directory."""
        if not self._root.is_dir() or not os.access(self._root, os.W_OK | os.X_OK):
            raise StorageUnavailable(f"{self._root} is not a writable directory")

    def list_objects(self, prefix: str) -> Iterator[ListedObject]:
        """Every committed object under `prefix`, from the records (hidden files skipped)."""
        parent, _, _ = prefix.rpartition("/")
        base = self._root / parent if parent else self._root
        if not base.is_dir():
            return
        for directory, folders, files in os.walk(base):
            folders[:] = sorted(f for f in folders if not f.startswith("."))
            for file in sorted(files):
                if file.startswith("."):
                    continue
                path = pathlib.Path(directory) / file
                name = path.relative_to(self._root).as_posix()
                if not name.startswith(prefix):
                    continue
                listed = self._listed(name, path)
                if listed is not None:
                    yield listed

    def _listed(self, name: str, record: pathlib.Path) -> ListedObject | None:
        try:
            fields = self._load(name, record).fields
            stamp = fields.get("created") or record.stat().st_mtime
        except (ObjectMissing, FileNotFoundError):
            return None  # deleted while listing
        except OSError as exc:
            raise StorageUnavailable(f"unreadable object record for {name}: {exc}") from exc
        return ListedObject(name, fields["size"], datetime.fromtimestamp(stamp, UTC))

    def _record_path(self, name: str) -> pathlib.Path:
        path = self._root / check_object_name(name)
        # Belt and braces against symlinks planted inside the root. Resolving the whole
        # path walks every directory from `/`: an lstat of each segment below the root
        # does, on every request, unless one of them is a link.
        segment = self._root
        for part in name.split("/"):
            segment = segment / part
            if segment.is_symlink():
                if not path.resolve().is_relative_to(self._root.resolve()):
                    raise ValueError(f"object name escapes the store: {name!r}")
                break
        return path

    def _load(self, name: str, record: pathlib.Path) -> Record:
        """The object's record; ObjectMissing, or StorageUnavailable if it is unreadable."""
        file = self._open_record(name, record)
        with file:
            return self._parse(name, file)

    def _read_record(self, name: str, record: pathlib.Path) -> ObjectInfo:
        return _info(name, self._load(name, record).fields)

    def _open_record(self, name: str, record: pathlib.Path) -> BinaryIO:
        try:
            return open(record, "rb")  # noqa: SIM115 - the caller closes it
        except _MISSING as exc:
            raise ObjectMissing(name) from exc
        except OSError as exc:
            raise StorageUnavailable(f"unreadable object record for {name}: {exc}") from exc

    def _parse(self, name: str, file: BinaryIO) -> Record:
        try:
            return read_record(file.fileno())
        except (OSError, ValueError) as exc:
            raise StorageUnavailable(f"unreadable object record for {name}: {exc}") from exc

    def _open_current(self, name: str, record: pathlib.Path) -> tuple[BinaryIO, int]:
        piece = self._open_piece(name, record)
        return piece.file, piece.offset

    def _open_piece(self, name: str, record: pathlib.Path) -> Piece:
        """The open file of the object's bytes: its record's own file, one descriptor for
        record and bytes alike, or an older object's data file."""
        # An older object's rewrite may delete the data file we just read about; the
        # record then names the new one, so one retry is enough.
        for _ in range(2):
            file = self._open_record(name, record)
            try:
                stored = self._parse(name, file)
            except BaseException:
                file.close()
                raise
            size = stored.fields["size"]
            if stored.offset is not None:
                return Piece(file, stored.offset, size)
            file.close()
            try:
                data = legacy_data_path(record, stored.fields["generation"])
                return Piece(open(data, "rb"), 0, size)  # noqa: SIM115
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise StorageUnavailable(str(exc)) from exc
        raise ObjectMissing(name)

    def _new_fields(
        self,
        name: str,
        record: pathlib.Path,
        content_type: str,
        size: int,
        md5: str | None,
    ) -> tuple[dict, Record | None]:
        """The record of a new version of `name` (its generation always grows), and the
        record of the version it is to replace, if any."""
        try:
            replaced: Record | None = self._load(name, record)
        except ObjectMissing:
            replaced = None
        previous = None if replaced is None else str(replaced.fields["generation"])
        generation = str(time.time_ns())
        if previous is not None and previous.isdigit() and int(generation) <= int(previous):
            generation = str(int(previous) + 1)
        fields = {
            "generation": generation,
            "content_type": content_type,
            "size": size,
            "md5": md5,
            "created": self._clock(),
        }
        return fields, replaced

    def _install(
        self,
        name: str,
        record: pathlib.Path,
        tmp: pathlib.Path,
        fields: dict,
        replaced: Record | None,
    ) -> ObjectInfo:
        """Rename the durable new file over the name (the commit point) and sync the rename."""
        record.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, record)
        fsync_dir(record.parent)
        if replaced is not None:
            _drop_legacy_data(record, replaced)
        return _info(name, fields)


def _info(name: str, fields: dict) -> ObjectInfo:
    # Records written before the store kept an MD5 have none: report it unknown.
    return ObjectInfo(
        name, fields["size"], fields["content_type"], fields["generation"], fields.get("md5")
    )


def _drop_legacy_data(record: pathlib.Path, stored: Record) -> None:
    """Delete the data file of an object stored before the one-file layout, if it was one."""
    if stored.offset is None:
        unlink_quietly(legacy_data_path(record, stored.fields["generation"]))
