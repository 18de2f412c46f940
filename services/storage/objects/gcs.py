"""Object storage in a Google Cloud Storage bucket (or fake-gcs-server)."""

from __future__ import annotations

import contextlib
import datetime
import uuid
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

import requests
from google.api_core import exceptions as api_errors
from google.api_core.retry import Retry, if_exception_type
from google.auth.credentials import Signing
from google.auth.exceptions import GoogleAuthError
from google.cloud import storage
from google.cloud.storage.retry import DEFAULT_RETRY

from services.core.errors import NotFound, ObjectMissing, StorageUnavailable
from services.core.transfer import content_disposition
from services.storage.objects.base import ListedObject, ObjectInfo, SignedGrant, SignedUpload
from services.storage.objects.gcs_signing import choose_signer, v4_expires_at
from services.storage.objects.gcs_writer import GCSWriter, md5_hex
from services.storage.objects.local import check_range

MIB = 1024 * 1024
UPLOAD_CHUNK_MULTIPLE = 256 * 1024
# Retrying for the library default of 120 s outlives any HTTP request we serve.
BOUNDED_RETRY = DEFAULT_RETRY.with_timeout(30.0)
# Anything that means "GCS did not answer properly"; NotFound is handled before these.
_UNAVAILABLE = (api_errors.GoogleAPIError, GoogleAuthError, requests.RequestException)
COMPOSE_LIMIT = 32  # sources per compose call, fixed by GCS
# Intermediate objects of composes with more sources than one call takes.
COMPOSE_TMP_PREFIX = ".mediastore-compose/"
# Which failed compose calls to retry. Not a 500: fake-gcs-server answers a missing
# source with one (GCS with 404), and retrying it for BOUNDED_RETRY's 30 s would only delay
# finding the missing source. A compose is idempotent, so the caller may try it again.
_COMPOSE_RETRYABLE = if_exception_type(
    api_errors.TooManyRequests,
    api_errors.BadGateway,
    api_errors.ServiceUnavailable,
    api_errors.GatewayTimeout,
    requests.ConnectionError,
    requests.Timeout,
    ConnectionError,
)


@contextlib.contextmanager
def _translated_errors(name: str) -> Iterator[None]:
    try:
        yield
    except api_errors.NotFound as exc:
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
        return _describe(blob)

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

    def compose(self, sources: list[str], destination: str, content_type: str) -> ObjectInfo:
        """Compose in rounds of at most 32 sources; intermediates are deleted, also on failure.

        GCS keeps no MD5 of a composite object, so the result's md5 is None (fake-gcs-server
        reports one anyway).
        """
        if not sources:
            raise ValueError("compose needs at least one source")
        intermediates: list[str] = []
        try:
            layer = list(sources)
            while len(layer) > COMPOSE_LIMIT:
                layer = [
                    self._compose_group(layer[i : i + COMPOSE_LIMIT], content_type, intermediates)
                    for i in range(0, len(layer), COMPOSE_LIMIT)
                ]
            return self._compose_once(layer, destination, content_type)
        finally:
            for name in intermediates:
                self._delete_quietly(name)

    def signed_url(self, name: str, ttl_seconds: int, download_name: str | None = None) -> str:
        """A V4 signed GET URL, offering `download_name` as an attachment when given."""
        kwargs: dict[str, Any] = {}
        if download_name is not None:
            kwargs["response_disposition"] = content_disposition(download_name)
        return self._sign(name, ttl_seconds, "GET", **kwargs)

    def signed_upload_url(
        self,
        name: str,
        ttl_seconds: int,
        *,
        content_type: str | None = None,
        max_bytes: int | None = None,
    ) -> SignedUpload:
        """A V4 signed PUT URL; GCS itself enforces the signed type and length range."""
        signed: dict[str, str] = {}
        if max_bytes is not None:
            if max_bytes < 0:
                raise ValueError("max_bytes must not be negative")
            signed["x-goog-content-length-range"] = f"0,{max_bytes}"
        # A copy: the library adds its Host header to the dict it is given.
        url = self._sign(name, ttl_seconds, "PUT", content_type=content_type, headers=dict(signed))
        headers = dict(signed)
        if content_type is not None:
            headers["Content-Type"] = content_type
        return SignedUpload(url=url, headers=headers, expires_at=v4_expires_at(url))

    def verify_signed(self, name: str, method: str, params: Mapping[str, str]) -> SignedGrant:
        """GCS serves its own signed URLs: nothing under /signed/ belongs to this store."""
        raise NotFound("Not found")

    def ping(self) -> None:
        """List at most one object: needs only objects.list, unlike a bucket GET."""
        # A probe answers now: no retries, so /ready reports an outage within seconds.
        with _translated_errors(self._bucket.name):
            list(self._bucket.list_blobs(max_results=1, timeout=5.0, retry=None))

    def list_objects(self, prefix: str) -> Iterator[ListedObject]:
        """Every object under `prefix`, paged by the client; `created` is GCS's timeCreated."""
        with _translated_errors(prefix):
            blobs = self._bucket.client.list_blobs(
                self._bucket, prefix=prefix, timeout=self._timeout, retry=self._retry
            )
            for blob in blobs:
                yield ListedObject(blob.name, blob.size or 0, blob.time_created)

    def _sign(self, name: str, ttl_seconds: int, method: str, **kwargs: Any) -> str:
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        if self._api_access_endpoint:
            kwargs["api_access_endpoint"] = self._api_access_endpoint
        with _translated_errors(name):
            return self._bucket.blob(name).generate_signed_url(
                version="v4",
                expiration=datetime.timedelta(seconds=ttl_seconds),
                method=method,
                credentials=self._signing,
                **kwargs,
            )

    def _compose_group(self, group: list[str], content_type: str, intermediates: list[str]) -> str:
        if len(group) == 1:
            return group[0]
        name = f"{COMPOSE_TMP_PREFIX}{uuid.uuid4().hex}"
        intermediates.append(name)  # before the call: a failed call may still leave it
        self._compose_once(group, name, content_type)
        return name

    def _compose_once(self, sources: list[str], destination: str, content_type: str) -> ObjectInfo:
        blob = self._bucket.blob(destination)
        blob.content_type = content_type
        retry = self._retry.with_predicate(_COMPOSE_RETRYABLE) if self._retry else None
        try:
            blob.compose(
                [self._bucket.blob(name) for name in sources], timeout=self._timeout, retry=retry
            )
        except _UNAVAILABLE as exc:
            missing = self._first_missing(sources)
            if missing is not None:
                raise ObjectMissing(missing) from exc
            raise StorageUnavailable(f"GCS compose into {destination!r} failed: {exc}") from exc
        return _describe(blob)

    def _delete_quietly(self, name: str) -> None:
        # One attempt: after an outage, retrying each intermediate for 30 s would hold the
        # request for minutes. One left behind costs storage only, under a hidden prefix.
        with contextlib.suppress(*_UNAVAILABLE):
            self._bucket.delete_blob(name, timeout=self._timeout, retry=None)

    def _first_missing(self, names: list[str]) -> str | None:
        """The first of `names` that does not exist, asked once a compose has failed."""
        for name in dict.fromkeys(names):
            with _translated_errors(name):
                if self._bucket.get_blob(name, timeout=self._timeout, retry=self._retry) is None:
                    return name
        return None

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


def _describe(blob: storage.Blob) -> ObjectInfo:
    content_type = blob.content_type or "application/octet-stream"
    return ObjectInfo(
        blob.name, blob.size, content_type, str(blob.generation), md5_hex(blob.md5_hash)
    )
