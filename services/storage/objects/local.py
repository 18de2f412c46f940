"""Object storage in a local directory, for development and single-node installs."""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
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
from services.storage.objects.concat import concatenate
from services.storage.objects.direct_io import DirectFile
from services.storage.objects.hashing import BackgroundMD5
from services.storage.objects.local_signing import LocalUrlSigner

MIB = 1024 * 1024
_TMP_DIR = ".tmp"
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

    Layout: `root/<name>` is a small JSON record (generation, content type, size, MD5) and the
    bytes live beside it in the hidden `.<basename>.<generation>`, which is never rewritten.
    Replacing the record is the commit point, so a crash leaves either the old object or
    the new one (plus an invisible orphan), never bytes without their metadata, and a
    reader that opened one generation keeps reading it while a rewrite commits.
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

    @property
    def root(self) -> pathlib.Path:
        """The directory every object lives under."""
        return self._root

    def open_writer(self, name: str, content_type: str) -> LocalObjectWriter:
        """Start a streamed upload into a temporary file under the root."""
        record = self._record_path(name)
        tmp_dir = self._root / _TMP_DIR
        try:
            tmp_dir.mkdir(exist_ok=True)
        except OSError as exc:
            raise StorageUnavailable(f"cannot write under {self._root}: {exc}") from exc
        return LocalObjectWriter(self, name, record, content_type)

    def stat(self, name: str) -> ObjectInfo:
        """Describe a committed object from its record."""
        return self._read_record(name, self._record_path(name))

    def read_range(self, name: str, start: int, end: int) -> FileRange:
        """Bytes start..end inclusive; the file is opened on the first next() or open()."""
        record = self._record_path(name)
        check_range(start, end)
        return FileRange(lambda: self._open_current(name, record), start, end, self._chunk_bytes)

    def delete(self, name: str) -> bool:
        """Remove the record (the commit point), then the bytes it pointed at."""
        record = self._record_path(name)
        try:
            info = self._read_record(name, record)
            record.unlink()
        except ObjectMissing:
            return False
        except FileNotFoundError:
            return False  # Deleted concurrently.
        except OSError as exc:
            raise StorageUnavailable(str(exc)) from exc
        _unlink_quietly(_data_path(record, info.generation))
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
            lambda source=source, record=record: self._open_current(source, record)
            for source, record in records
        ]
        tmp = self._root / _TMP_DIR / uuid.uuid4().hex
        try:
            tmp.parent.mkdir(exist_ok=True)
            size = concatenate(openers, tmp)
            return self._commit(destination, target, tmp, content_type, size, None)
        except OSError as exc:
            _unlink_quietly(tmp)
            raise StorageUnavailable(f"cannot compose {destination}: {exc}") from exc
        except BaseException:
            _unlink_quietly(tmp)
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
            fields = json.loads(record.read_bytes())
            stamp = fields.get("created") or record.stat().st_mtime
        except FileNotFoundError:
            return None  # deleted while listing
        except (OSError, ValueError) as exc:
            raise StorageUnavailable(f"unreadable object record for {name}: {exc}") from exc
        return ListedObject(name, fields["size"], datetime.fromtimestamp(stamp, UTC))

    def _record_path(self, name: str) -> pathlib.Path:
        path = self._root / check_object_name(name)
        # Belt and braces against symlinks planted inside the root.
        if not path.resolve().is_relative_to(self._root.resolve()):
            raise ValueError(f"object name escapes the store: {name!r}")
        return path

    def _read_record(self, name: str, record: pathlib.Path) -> ObjectInfo:
        try:
            fields = json.loads(record.read_bytes())
        except _MISSING as exc:
            raise ObjectMissing(name) from exc
        except (OSError, ValueError) as exc:
            raise StorageUnavailable(f"unreadable object record for {name}: {exc}") from exc
        # Records written before the store kept an MD5 have none: report it unknown.
        return ObjectInfo(
            name, fields["size"], fields["content_type"], fields["generation"], fields.get("md5")
        )

    def _open_current(self, name: str, record: pathlib.Path) -> BinaryIO:
        # A rewrite may delete the generation we just read about; the record then names
        # the new one, so one retry is enough.
        for _ in range(2):
            info = self._read_record(name, record)
            try:
                return open(_data_path(record, info.generation), "rb")  # noqa: SIM115
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise StorageUnavailable(str(exc)) from exc
        raise ObjectMissing(name)

    def _commit(
        self,
        name: str,
        record: pathlib.Path,
        tmp: pathlib.Path,
        content_type: str,
        size: int,
        md5: str | None,
    ) -> ObjectInfo:
        try:
            previous = self._read_record(name, record).generation
        except ObjectMissing:
            previous = None
        generation = str(time.time_ns())
        if previous is not None and previous.isdigit() and int(generation) <= int(previous):
            generation = str(int(previous) + 1)
        record.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, _data_path(record, generation))
        fields = {
            "generation": generation,
            "content_type": content_type,
            "size": size,
            "md5": md5,
            "created": self._clock(),
        }
        record_tmp = self._root / _TMP_DIR / f"{uuid.uuid4().hex}.json"
        with open(record_tmp, "wb") as file:
            file.write(json.dumps(fields).encode())
            file.flush()
            os.fsync(file.fileno())
        os.replace(record_tmp, record)
        _fsync_dir(record.parent)
        if previous is not None and previous != generation:
            _unlink_quietly(_data_path(record, previous))
        return ObjectInfo(name, size, content_type, generation, md5)


class LocalObjectWriter:
    """An upload into a temporary file that commit() moves into place."""

    def __init__(
        self, store: LocalObjectStore, name: str, record: pathlib.Path, content_type: str
    ) -> None:
        self._store = store
        self._name = name
        self._record = record
        self._content_type = content_type
        self._tmp = store.root / _TMP_DIR / uuid.uuid4().hex
        try:
            # Past the page cache where the file system allows: see direct_io.
            self._file = DirectFile(self._tmp)
        except OSError as exc:
            raise StorageUnavailable(f"cannot start upload: {exc}") from exc
        # Hashed as it is written, on another core: the MD5 costs no second read of the file.
        self._md5 = BackgroundMD5()
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
        """Flush to disk and move the object into place atomically."""
        if self._closed:
            raise ValueError("writer is closed")
        try:
            self._file.finish()
            info = self._store._commit(
                self._name,
                self._record,
                self._tmp,
                self._content_type,
                self._file.size,
                self._md5.hexdigest(),
            )
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
        _unlink_quietly(self._tmp)


def _data_path(record: pathlib.Path, generation: str) -> pathlib.Path:
    return record.with_name(f".{record.name}.{generation}")


def _unlink_quietly(path: pathlib.Path) -> None:
    # Already gone, or an orphan that costs only disk space.
    with contextlib.suppress(OSError):
        path.unlink()


def _fsync_dir(path: pathlib.Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
