"""Peer screenshot uploads: verify the one-time token, store every file or none, spend, complete."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urljoin

from services.core.cleanup import quietly
from services.core.errors import (
    Forbidden,
    InvalidRequest,
    ObjectMissing,
    Unauthorized,
)
from services.core.ingest import Accept, Chunk, Ingest
from services.core.sniff import EXTENSIONS, sniff_image
from services.screenshots.events import SCREENSHOTS_COMPLETED
from services.screenshots.records import (
    PENDING,
    REVOKED,
    USED,
    ScreenshotRecords,
    StoredShot,
    is_safe_id,
)
from services.screenshots.tokens import INVALID_TOKEN, PeerClaims, PeerTokens, bearer_token
from services.storage.objects import ObjectStore

log = logging.getLogger("mediastore.screenshots")

OBJECT_PREFIX = "screenshots"
CATALOG_MISMATCH = "Catalog ID in URL does not match token"
ALREADY_USED = "Token has already been used"
ALREADY_FULFILLED = "Screenshot request already fulfilled"
REQUEST_EXPIRED = "Screenshot request has expired"
NO_FILES = "No files uploaded"
NOT_AN_IMAGE = "Only JPEG, PNG and WebP images are accepted"
# An upload spends its token and passes the gate in one request, moments apart: a token
# spent longer ago on a request still pending was stranded between the two by a crash or
# an outage, and resume_completions() passes the gate for it.
STRANDED_AFTER = timedelta(minutes=5)


class FilePartLike(Protocol):
    """One uploaded file: the client's name for it and its bytes as they arrive."""

    filename: str
    chunks: Iterator[bytes]


class OutboxLike(Protocol):
    def add(self, event_type: str, data: dict[str, Any], *, event_id: str | None = None) -> str:
        """Record an event durably for delivery."""


class ScreenshotUploads:
    """Accepts one peer's screenshots for one request.

    Steps and what a failure at each leaves behind:
      1. verify the token and read its record and its request: refusals (401/400/403)
         touch nothing.
      2. stream each file into storage under screenshots/{catalog}/{request}/<uuid>.<ext>,
         sniffing its first bytes and counting its size. Any failure (415, 413, too many
         files, a broken body, storage down) aborts the current writer and deletes every
         object already committed: no objects, token still issued.
      3. spend the token (issued -> used, naming the objects). Losing this race to another
         upload of the same token deletes our objects (403). A crash after this step leaves
         a used token whose record lists the stored objects, the request pending: once
         STRANDED_AFTER has passed, resume_completions() passes the gate for it.
      4. the gate: the request pending -> completing for this upload. If another peer got
         there first our objects are deleted and our token revoked (403).
         A write in step 3 or 4 that fails (or whose answer is lost) is checked: a gate
         that did pass counts as success; otherwise the token is given back, and only
         then are the objects deleted. If that cannot be done the objects are kept, so a
         spent token never points at missing files.
      5. bookkeeping, each step idempotent: record the screenshots, revoke the other peers'
         tokens, delete what failed tries left under the request, add the completed event
         to the outbox (event id per request), mark the request completed. A crash here
         leaves the request `completing`; resume_completions() repeats step 5 for it.
    """

    def __init__(
        self,
        *,
        records: ScreenshotRecords,
        tokens: PeerTokens,
        store: ObjectStore,
        ingest: Ingest,
        outbox: OutboxLike,
        clock: Callable[[], datetime],
        max_files: int,
        max_file_bytes: int,
        signed_url_ttl: int,
        public_base_url: str | None = None,
    ) -> None:
        self.records = records
        self.tokens = tokens
        self.store = store
        self.ingest = ingest
        self.accept = Accept(
            sniff_image,
            max_file_bytes,
            unsupported=NOT_AN_IMAGE,
            too_large=f"Screenshot exceeds the maximum of {max_file_bytes} bytes",
        )
        self.outbox = outbox
        self.clock = clock
        self.max_files = max_files
        self.max_file_bytes = max_file_bytes
        self.signed_url_ttl = signed_url_ttl
        self.public_base_url = public_base_url

    def upload(
        self, authorization: str | None, catalog_id: str, files: Iterable[FilePartLike]
    ) -> dict[str, Any]:
        """Store the files for the token's request; returns catalog_id and signed URLs."""
        claims = self.tokens.verify(bearer_token(authorization))
        if claims.catalog_id != catalog_id:
            raise InvalidRequest(CATALOG_MISMATCH)
        if not (is_safe_id(claims.catalog_id) and is_safe_id(claims.request_id)):
            raise Unauthorized(INVALID_TOKEN)
        self._check_usable(claims)
        try:
            shots = self._store_all(claims, files)
        except ObjectMissing:
            # Another upload passed the request's gate meanwhile and swept the files of every
            # other try under it (_sweep_leftovers), this one's while it was being checked:
            # answer why this upload lost, not that its file vanished.
            self._check_usable(claims)
            raise
        request = self._commit(claims, shots)
        try:
            self.finish(request)
        except Exception:
            # The upload itself is complete; resume_completions() finishes the rest.
            log.exception(
                "bookkeeping of request %s failed; it stays completing", claims.request_id
            )
        return {"catalog_id": catalog_id, "screenshot_urls": self.sign(shots)}

    def finish(self, request: dict[str, Any]) -> None:
        """Step 5 for a request past the gate; safe to repeat."""
        self.records.record_screenshots(request)
        self.records.revoke_others(request["_id"])
        self._sweep_leftovers(request)
        shots = [StoredShot.from_document(doc) for doc in request["screenshots"]]
        urls = [self._absolute(url) for url in self.sign(shots)]
        self.outbox.add(
            SCREENSHOTS_COMPLETED,
            {
                "catalog_id": request["catalog_id"],
                "request_id": request["_id"],
                "screenshot_urls": urls,
                "status": "completed",
            },
            event_id=f"screenshots.completed:{request['_id']}",
        )
        self.records.mark_completed(request["_id"])

    def resume_completions(self) -> int:
        """Finish every request left `completing` (or stranded before its gate) by a crash or
        an outage; returns how many were finished."""
        try:
            self.resume_stranded()
        except Exception:
            log.exception("resuming stranded uploads failed")
        finished = 0
        for request in self.records.completing():
            try:
                self.finish(request)
                finished += 1
            except Exception:
                log.exception("resuming request %s failed", request["_id"])
        return finished

    def resume_stranded(self) -> int:
        """Steps 4-5 for uploads whose token was spent but whose gate never passed.

        Their files are stored and their token is spent, so the peer cannot send them again:
        pass the gate for them, or, when another upload fulfilled the request meanwhile,
        revoke the token and delete the files, as the upload itself would have.
        """
        resumed = 0
        for claims, upload_id, names in self.records.stranded_tokens(self.clock() - STRANDED_AFTER):
            shots = [self._stored_shot(name) for name in names]
            request = self.records.claim_completion(claims, shots, upload_id)
            if request is None:
                self.records.revoke_spent(claims.token_id, upload_id)
                self._discard(shots)
            else:
                log.warning("passed the gate of request %s for a stranded upload", request["_id"])
            resumed += 1
        return resumed

    def _sweep_leftovers(self, request: dict[str, Any]) -> None:
        """Delete the files of failed tries under the request (kept when their token's fate
        was unknown): once it passed the gate, no other upload can win it."""
        kept = {shot["object_name"] for shot in request["screenshots"]}
        prefix = f"{OBJECT_PREFIX}/{request['catalog_id']}/{request['_id']}/"
        for listed in self.store.list_objects(prefix):
            if listed.name not in kept:
                self.store.delete(listed.name)

    def _stored_shot(self, name: str) -> StoredShot:
        info = self.store.stat(name)
        return StoredShot(name, info.content_type, info.size)

    def sign(self, shots: Iterable[StoredShot | str]) -> list[str]:
        """Fresh signed URLs (possibly relative to the service root) for the objects."""
        names = [shot if isinstance(shot, str) else shot.object_name for shot in shots]
        return [self.store.signed_url(name, self.signed_url_ttl) for name in names]

    def _absolute(self, url: str) -> str:
        return urljoin(self.public_base_url, url) if self.public_base_url else url

    def _check_usable(self, claims: PeerClaims) -> None:
        """Refuse early (without side effects) a spent or foreign token or a closed request."""
        # The request is read before the token: a request closed by this very token is
        # then always reported as the token being used, whatever the interleaving.
        request = self.records.request(claims.request_id)
        token = self.records.token(claims.token_id)
        if token is None or (token["request_id"], token["peer_id"]) != (
            claims.request_id,
            claims.peer_id,
        ):
            raise Unauthorized(INVALID_TOKEN)
        if token["state"] == USED:
            raise Forbidden(ALREADY_USED)
        if token["state"] == REVOKED:
            raise Forbidden(ALREADY_FULFILLED)
        _refuse_closed(request)

    def _store_all(self, claims: PeerClaims, files: Iterable[FilePartLike]) -> list[StoredShot]:
        """Step 2: every file committed, or none left behind."""
        shots: list[StoredShot] = []
        try:
            for part in files:
                if len(shots) >= self.max_files:
                    raise InvalidRequest(f"Too many files: at most {self.max_files} per request")
                shots.append(self._store_one(claims, part.chunks))
        except BaseException:
            self._discard(shots)
            raise
        if not shots:
            raise InvalidRequest(NO_FILES)
        return shots

    def _store_one(self, claims: PeerClaims, chunks: Iterator[Chunk]) -> StoredShot:
        prefix = f"{OBJECT_PREFIX}/{claims.catalog_id}/{claims.request_id}/"
        info = self.ingest.store_upload(
            chunks,
            self.accept,
            lambda content_type: f"{prefix}{uuid.uuid4().hex}{EXTENSIONS[content_type]}",
        )
        return StoredShot(info.name, info.content_type, info.size)

    def _commit(self, claims: PeerClaims, shots: list[StoredShot]) -> dict[str, Any]:
        """Steps 3 and 4: spend the token, then pass the request's gate."""
        upload_id = uuid.uuid4().hex
        try:
            spent = self.records.spend_token(claims.token_id, upload_id, shots)
        except BaseException:
            self._give_back(claims, upload_id, shots)
            raise
        if spent is None:
            self._discard(shots)
            self._check_usable(claims)
            raise Forbidden(ALREADY_USED)
        try:
            request = self.records.claim_completion(claims, shots, upload_id)
        except BaseException:
            request = self._after_failed_gate(claims, upload_id, shots)
            if request is None:
                raise
        if request is None:
            # resume_stranded() may have passed the gate for this upload if it stalled here.
            request = quietly(lambda: self.records.closed_by(claims.request_id, upload_id), log)
        if request is None:
            quietly(lambda: self.records.revoke_spent(claims.token_id, upload_id), log)
            self._discard(shots)
            _refuse_closed(self.records.request(claims.request_id))
            raise Forbidden(ALREADY_FULFILLED)
        return request

    def _after_failed_gate(
        self, claims: PeerClaims, upload_id: str, shots: list[StoredShot]
    ) -> dict[str, Any] | None:
        """The gate write failed or its answer was lost: the request if it passed, else undo."""
        try:
            request = self.records.closed_by(claims.request_id, upload_id)
        except Exception:
            log.exception("cannot tell whether request %s passed the gate", claims.request_id)
            log.error("token %s stays spent; keeping objects %s", claims.token_id, shots)
            return None
        if request is None:
            self._give_back(claims, upload_id, shots)
        return request

    def _give_back(self, claims: PeerClaims, upload_id: str, shots: list[StoredShot]) -> None:
        """Unspend the token if this upload spent it, then delete the objects; else keep them."""
        restored = quietly(lambda: self.records.restore_token(claims.token_id, upload_id), log)
        if restored is None:  # unknown: the token may stay spent, so its files must stay
            log.error("token %s may stay spent; keeping objects %s", claims.token_id, shots)
        else:
            self._discard(shots)

    def _discard(self, shots: list[StoredShot]) -> None:
        for shot in shots:
            quietly(lambda name=shot.object_name: self.store.delete(name), log)


def _refuse_closed(request: dict[str, Any] | None) -> None:
    """Forbidden unless the request exists, is unexpired and still pending."""
    if request is None:
        raise Forbidden(REQUEST_EXPIRED)
    if request["state"] != PENDING:
        raise Forbidden(ALREADY_FULFILLED)
