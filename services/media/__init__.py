"""The media API (seed 001): typed uploads, listing, download tokens, invoice PDFs, events."""

from __future__ import annotations

from dataclasses import dataclass

from services.media.events import Announcer
from services.media.invoices import MediaInvoices
from services.media.library import MediaLibrary
from services.media.records import MediaRecords
from services.media.uploads import MediaUploads


@dataclass(frozen=True)
class MediaFeature:
    """The media feature's public services, as the blueprints and the wiring see them.

    `public_base_url` is where the API's absolute URLs point (None: the request's host).
    """

    records: MediaRecords
    uploads: MediaUploads
    library: MediaLibrary
    invoices: MediaInvoices
    announcer: Announcer
    public_base_url: str | None = None


__all__ = ["MediaFeature", "MediaInvoices", "MediaLibrary", "MediaRecords", "MediaUploads"]
