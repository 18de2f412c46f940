"""A resumable upload into GCS that holds at most one chunk in memory."""

from __future__ import annotations

import base64
import contextlib

import requests
from google.api_core.exceptions import GoogleAPIError
from google.auth.exceptions import GoogleAuthError

from services.core.errors import StorageUnavailable
from services.storage.objects.base import ObjectInfo

_UNAVAILABLE = (GoogleAPIError, GoogleAuthError, requests.RequestException)


class GCSWriter:
    """A resumable upload that sends each full chunk as soon as it is buffered."""

    def __init__(
        self,
        session: requests.Session,
        session_url: str,
        name: str,
        content_type: str,
        chunk_bytes: int,
        timeout: float,
    ) -> None:
        self._session = session
        self._url = session_url
        self._name = name
        self._content_type = content_type
        self._chunk_bytes = chunk_bytes
        self._timeout = timeout
        self._buffer = bytearray()
        self._offset = 0  # Bytes the server has acknowledged.
        self._closed = False

    def write(self, chunk: bytes) -> None:
        """Buffer bytes, uploading each full chunk; never holds more than one chunk."""
        if self._closed:
            raise ValueError("writer is closed")
        view = memoryview(chunk)
        while view:
            room = self._chunk_bytes - len(self._buffer)
            self._buffer += view[:room]
            view = view[room:]
            if len(self._buffer) == self._chunk_bytes:
                self._send(bytes(self._buffer), total=None)
                self._buffer.clear()

    def commit(self) -> ObjectInfo:
        """Send the last (possibly empty) chunk with the total size, creating the object."""
        if self._closed:
            raise ValueError("writer is closed")
        total = self._offset + len(self._buffer)
        response = self._send(bytes(self._buffer), total=total)
        self._closed = True
        self._buffer = bytearray()
        fields = response.json()
        content_type = fields.get("contentType") or self._content_type
        return ObjectInfo(
            self._name,
            int(fields["size"]),
            content_type,
            str(fields["generation"]),
            md5_hex(fields.get("md5Hash")),
        )

    def abort(self) -> None:
        """Cancel the session (best effort: an unfinished session never becomes an object)."""
        if self._closed:
            return
        self._closed = True
        self._buffer = bytearray()
        with contextlib.suppress(*_UNAVAILABLE):
            self._session.request("DELETE", self._url, timeout=(3.0, 5.0))

    def _send(self, data: bytes, total: int | None) -> requests.Response:
        # GCS may persist less than was sent (308 with a shorter Range): resend the rest.
        for _ in range(4):
            response = self._put(data, total)
            if response.status_code != 308:
                if response.status_code in (200, 201) and total is not None:
                    return response
                self.abort()
                raise StorageUnavailable(
                    f"GCS upload of {self._name!r}: HTTP {response.status_code}"
                )
            persisted = _persisted_bytes(response)
            sent_end = self._offset + len(data)
            if not self._offset <= persisted <= sent_end:
                self.abort()
                raise StorageUnavailable(f"GCS upload of {self._name!r} lost acknowledged bytes")
            data = data[persisted - self._offset :]
            self._offset = persisted
            if not data and total is None:
                return response
        self.abort()
        raise StorageUnavailable(f"GCS upload of {self._name!r} is not making progress")

    def _put(self, data: bytes, total: int | None) -> requests.Response:
        size = "*" if total is None else str(total)
        span = f"{self._offset}-{self._offset + len(data) - 1}" if data else "*"
        # fake-gcs-server takes the object's content type from every chunk's header.
        headers = {"Content-Range": f"bytes {span}/{size}", "Content-Type": self._content_type}
        try:
            return self._session.request(
                "PUT", self._url, data=data, headers=headers, timeout=self._timeout
            )
        except _UNAVAILABLE as exc:
            self.abort()
            raise StorageUnavailable(f"GCS upload of {self._name!r} failed: {exc}") from exc


def md5_hex(md5_hash: str | None) -> str | None:
    """GCS's base64 md5Hash as lowercase hex; None when GCS keeps none (composite objects)."""
    return base64.b64decode(md5_hash).hex() if md5_hash else None


def _persisted_bytes(response: requests.Response) -> int:
    """Bytes stored so far, from a 308's `Range: bytes=0-N` (absent means none)."""
    header = response.headers.get("Range", "")
    if not header.startswith("bytes=0-"):
        return 0
    return int(header.removeprefix("bytes=0-")) + 1
