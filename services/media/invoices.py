"""Invoice PDFs: one file per invoice_id, however often or concurrently it is asked for.

Steps, and what a failure at each leaves:
  1. a stored record for the invoice_id answers at once (a repeat: created=False);
  2. render the PDF in memory (small; nothing stored yet);
  3. claim the invoice: a record `uploading` under the unique invoice_id (and unique
     invoice_number). A concurrent call that loses the claim waits for the winner's record
     and answers with it; a claim whose lease ran out (a dead process's) is reclaimed first;
  4. store the PDF under `invoices/<invoice_number>.pdf` through Ingest (no quota: the
     invoice belongs to the internal caller and counts toward nobody's storage);
  5. commit: the record `stored` with `event_pending`, then the event goes to the outbox
     (services/media/events.py). A failure in 3-5 drops the claim and deletes the object
     if it is still the one this call wrote; a crash leaves a claim whose lease runs out.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from services.core.claims import STORED, UPLOADING, Claims
from services.core.cleanup import quietly
from services.core.errors import Conflict, InvalidRequest, ObjectMissing
from services.core.ingest import Accept, Ingest
from services.core.sniff import PDF, sniff_pdf
from services.core.users import User
from services.media.events import Announcer
from services.media.invoice_pdf import render_invoice
from services.media.invoice_request import InvoiceRequest, parse_invoice_request
from services.media.records import INVOICE, MediaFile, MediaRecords, generated_name
from services.storage.objects import ObjectStore

log = logging.getLogger("mediastore.media")

MAX_INVOICE_BYTES = 16 * 1024 * 1024
NUMBER_TAKEN = "Invoice number already belongs to another invoice"
IN_PROGRESS = "This invoice's PDF is being generated; retry shortly"
# How long a call that lost the claim waits for the winner (real seconds, not the clock).
WAIT_SECONDS = 10.0
POLL_SECONDS = 0.05


def invoice_object_name(invoice_number: str) -> str:
    """Where an invoice's PDF lives; the number is checked to be a safe name part."""
    return f"invoices/{invoice_number}.pdf"


class MediaInvoices:
    """Generates invoice PDFs for internal callers and for InvoiceGenerated events."""

    def __init__(
        self,
        *,
        records: MediaRecords,
        claims: Claims,
        ingest: Ingest,
        store: ObjectStore,
        announcer: Announcer,
        clock: Callable[[], datetime],
        event_owner: str,
    ) -> None:
        self.records = records
        self.claims = claims
        self.ingest = ingest
        self.store = store
        self.announcer = announcer
        self.clock = clock
        self.event_owner = event_owner
        self.accept = Accept(sniff_pdf, MAX_INVOICE_BYTES, unsupported="Not a PDF")

    def generate(self, caller: User, request: InvoiceRequest) -> tuple[MediaFile, bool]:
        """The invoice's file, and True when this call created it (steps 1-5 above)."""
        existing = self._stored(request.invoice_id)
        if existing is not None:
            return existing, False
        pdf = render_invoice(
            request.invoice_number, request.invoice_data, generated_at=self.clock()
        )
        claim = self._claim(caller.id, request)
        if claim is None:
            return self._wait_for(request.invoice_id), False
        return self._store(claim, pdf), True

    def handle_generated(self, data: dict[str, Any]) -> None:
        """Consume an InvoiceGenerated event (the HTTP call's body); malformed: InvalidRequest."""
        request = parse_invoice_request(data)
        try:
            self.generate(User(id=self.event_owner, username=self.event_owner), request)
        except Conflict as error:
            if error.message == NUMBER_TAKEN:
                raise InvalidRequest(NUMBER_TAKEN) from error  # can never succeed
            raise

    def reclaim_abandoned(self) -> int:
        """Undo invoice claims whose lease ran out (a dead process's); returns how many.

        The object name belongs to the invoice number, which only that claim held, so
        whatever the dead process left under it goes too.
        """
        reclaimed = 0
        for claim_id in self.claims.expired({"kind": INVOICE}):
            claim = self.claims.reclaim(claim_id)
            if claim is None:
                continue
            log.warning("reclaiming abandoned invoice %s", claim.get("invoice_id"))
            quietly(lambda c=claim: self.store.delete(c["object_name"]), log)
            reclaimed += 1
        return reclaimed

    def _stored(self, invoice_id: str) -> MediaFile | None:
        doc = self.claims.collection.find_one({"invoice_id": invoice_id})
        if doc is not None and doc.get("state") == STORED:
            return MediaFile.from_document(doc)
        return None

    def _claim(self, owner: str, request: InvoiceRequest) -> dict[str, Any] | None:
        """Take the invoice's claim; None when another call holds it (or has finished)."""
        fields = {
            "owner": owner,
            "kind": INVOICE,
            "invoice_id": request.invoice_id,
            "invoice_number": request.invoice_number,
            "object_name": invoice_object_name(request.invoice_number),
            "original_file_name": f"{request.invoice_number}.pdf",
        }
        for _ in range(2):
            try:
                return self.claims.take(fields, claim_id=str(uuid.uuid4()))
            except DuplicateKeyError:
                pass
            holder = self.claims.collection.find_one({"invoice_id": request.invoice_id})
            if holder is None:
                number = self.claims.collection.find_one(
                    {"invoice_number": request.invoice_number}, {"_id": 1}
                )
                if number is not None:
                    raise Conflict(NUMBER_TAKEN)
                continue  # the holder went away meanwhile: claim again
            if holder.get("invoice_number") != request.invoice_number:
                raise Conflict(NUMBER_TAKEN)
            if holder["state"] != UPLOADING or not self._reclaim(holder):
                return None
        raise Conflict(IN_PROGRESS)

    def _reclaim(self, holder: dict[str, Any]) -> bool:
        """Undo a claim whose lease ran out (its process died); False while it is alive."""
        claim = self.claims.reclaim(holder["_id"])
        if claim is None:
            return False
        log.warning("reclaiming abandoned invoice %s", claim.get("invoice_id"))
        return True

    def _wait_for(self, invoice_id: str) -> MediaFile:
        """The record another call is committing, once it is stored."""
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            doc = self.claims.collection.find_one({"invoice_id": invoice_id})
            if doc is None:
                break
            if doc.get("state") == STORED:
                return MediaFile.from_document(doc)
            time.sleep(POLL_SECONDS)
        raise Conflict(IN_PROGRESS)

    def _store(self, claim: dict[str, Any], pdf: bytes) -> MediaFile:
        info = None
        try:
            info = self.ingest.store_upload([pdf], self.accept, lambda _t: claim["object_name"])
            now = self.clock()
            doc = self.claims.commit(
                claim["_id"],
                {
                    "file_name": generated_name(claim["_id"], PDF),
                    "file_type": "pdf",
                    "mime_type": PDF,
                    "file_size": info.size,
                    "generation": str(info.generation),
                    "md5": info.md5,
                    "context_type": "invoice_pdf",
                    "context_id": claim["invoice_id"],
                    "is_public": False,
                    "expires_at": None,
                    "charged": False,
                    "event_pending": True,
                    "stored_at": now,
                },
            )
        except BaseException:
            self._undo(claim, info)
            raise
        quietly(lambda: self.announcer.announce(doc), log)
        return MediaFile.from_document(doc)

    def _undo(self, claim: dict[str, Any], info: Any) -> None:
        """Drop the claim; delete the object only while it is the version this call wrote."""
        quietly(lambda: self.claims.drop(claim["_id"]), log)
        if info is None:
            return
        try:
            current = self.store.stat(claim["object_name"])
        except ObjectMissing:
            return
        except Exception:
            log.exception("could not check invoice object %s", claim["object_name"])
            return
        if str(current.generation) == str(info.generation):
            quietly(lambda: self.store.delete(claim["object_name"]), log)
