"""Object storage in a Google Cloud Storage bucket (or fake-gcs-server)."""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import requests
from google.api_core.exceptions import GoogleAPIError, NotFound
from google.api_core.retry import Retry
from google.auth.credentials import Signing
from google.auth.exceptions import GoogleAuthError
from google.cloud import storage
from google.cloud.storage.retry import DEFAULT_RETRY

from services.core.errors import ObjectMissing, StorageUnavailable
from services.core.transfer import content_disposition
from services.storage.objects.base import ObjectInfo
from services.storage.objects.gcs_signing import choose_signer
from services.storage.objects.local import check_range

MIB = 1024 * 1024
UPLOAD_CHUNK_MULTIPLE = 256 * 1024
# Retrying for the library default of 120 s outlives any HTTP request we serve.
BOUNDED_RETRY = DEFAULT_RETRY.with_timeout(30.0)
# Anything that means "GCS did not answer properly"; NotFound is handled before these.
_UNAVAILABLE = (GoogleAPIError, GoogleAuthError, requests.RequestException)


@contextlib.contextmanager
def _translated_errors(name: str) -> Iterator[None]:
    try:
        yield
    except NotFound as exc:
        raise ObjectMissing(name) from exc
    except _UNAVAILABLE as exc:
        raise StorageUnavailable(f"GCS request for {name!r} failed: {exc}") from exc


class GCSService:
    """A bucket read and written through the JSON API with bounded memory."""

    def __init__(
        self,
        bucket: storage.Bucket,
        *,
        chunk_bytes: int = 8 * MIB,
        read_chunk_bytes: int = MIB,
        signing: Signing | None = None,
        api_access_endpoint: str | None = None,
        timeout: float = 60.0,
        retry: Retry | None = BOUNDED_RETRY,
    ) -> None:
        if chunk_bytes <= 0 or chunk_bytes % UPLOAD_CHUNK_MULTIPLE:
            raise ValueError("chunk_bytes must be a positive multiple of 256 KiB")
        self._bucket = bucket
        self._chunk_bytes = chunk_bytes
        # Reads stream one ranged GET; this is only the size of the pieces handed on.
        # Small pieces keep gunicorn's per-chunk framing copy cheap (see docs/benchmarks.md).
        self._read_chunk_bytes = read_chunk_bytes
        self._signing = signing or choose_signer(bucket.client._credentials)
        self._api_access_endpoint = api_access_endpoint
        self._timeout = timeout
        self._retry = retry
        # The client's own authorized session: same credentials, same connection pool.
        self._session: requests.Session = bucket.client._http
        base = bucket.client.api_endpoint.rstrip("/")
        self._download_base = f"{base}/download/storage/v1/b/{quote(bucket.name, safe='')}/o"

    def open_writer(self, name: str, content_type: str) -> GCSWriter:
        """Open a resumable upload session; nothing exists under `name` until commit."""
        blob = self._bucket.blob(name)
        with _translated_errors(name):
            url = blob.create_resumable_upload_session(
                content_type=content_type, timeout=self._timeout, retry=self._retry
            )
        return GCSWriter(self._session, url, name, content_type, self._chunk_bytes, self._timeout)

    def stat(self, name: str) -> ObjectInfo:
        """Describe a committed object with one metadata GET."""
        with _translated_errors(name):
            blob = self._bucket.get_blob(name, timeout=self._timeout, retry=self._retry)
        if blob is None:
            raise ObjectMissing(name)
        content_type = blob.content_type or "application/octet-stream"
        return ObjectInfo(name, blob.size, content_type, str(blob.generation))

    def read_range(self, name: str, start: int, end: int) -> Iterator[bytes]:
        """Yield bytes start..end inclusive from one streamed ranged GET.

        The request is sent on the first next(), so ObjectMissing and StorageUnavailable
        (also for failures mid-stream) are raised while iterating: callers prime the first
        chunk before committing to a response. A range starting past the end yields nothing.
        """
        check_range(start, end)
        return self._stream(name, start, end)

    def delete(self, name: str) -> bool:
        """Delete the object; False if there was none."""
        try:
            with _translated_errors(name):
                self._bucket.delete_blob(name, timeout=self._timeout, retry=self._retry)
        except ObjectMissing:
            return False
        return True

    def signed_url(self, name: str, ttl_seconds: int, download_name: str | None = None) -> str:
        """A V4 signed GET URL, offering `download_name` as an attachment when given."""
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        kwargs: dict[str, Any] = {}
        if self._api_access_endpoint:
            kwargs["api_access_endpoint"] = self._api_access_endpoint
        if download_name is not None:
            kwargs["response_disposition"] = content_disposition(download_name)
        with _translated_errors(name):
            return self._bucket.blob(name).generate_signed_url(
                version="v4",
                expiration=datetime.timedelta(seconds=ttl_seconds),
                method="GET",
                credentials=self._signing,
                **kwargs,
            )

    def ping(self) -> None:
        """List at most one object: needs only objects.list, unlike a bucket GET."""
        # A probe answers now: no retries, so /ready reports an outage within seconds.
        with _translated_errors(self._bucket.name):
            list(self._bucket.list_blobs(max_results=1, timeout=5.0, retry=None))

    def _stream(self, name: str, start: int, end: int) -> Iterator[bytes]:
        url = f"{self._download_base}/{quote(name, safe='')}?alt=media"
        headers = {"Range": f"bytes={start}-{end}"}
        with _translated_errors(name):
            response = self._session.request(
                "GET", url, headers=headers, stream=True, timeout=self._timeout
            )
            with response:
                if response.status_code == 404:
                    raise ObjectMissing(name)
                if response.status_code == 416:
                    return
                if response.status_code not in (200, 206) or (
                    response.status_code == 200 and start > 0
                ):
                    raise StorageUnavailable(f"GCS read of {name!r}: HTTP {response.status_code}")
                remaining = end - start + 1
                for chunk in response.iter_content(chunk_size=self._read_chunk_bytes):
                    yield chunk[:remaining]
                    remaining -= len(chunk)
                    if remaining <= 0:
                        return


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
        return ObjectInfo(self._name, int(fields["size"]), content_type, str(fields["generation"]))

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


def _persisted_bytes(response: requests.Response) -> int:
    """Bytes stored so far, from a 308's `Range: bytes=0-N` (absent means none)."""
    header = response.headers.get("Range", "")
    if not header.startswith("bytes=0-"):
        return 0
    return int(header.removeprefix("bytes=0-")) + 1
