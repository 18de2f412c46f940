"""The media API's absolute URLs and its one description of a file."""

from __future__ import annotations

from typing import Any

from flask import request

from blueprints._http.context import services
from services.media.events import iso_utc
from services.media.records import MediaFile

PREFIX = "/api/v1/media"


def base_url() -> str:
    """Where the media API's absolute URLs start: PUBLIC_BASE_URL, else this request's host."""
    return services().media.public_base_url or request.host_url.rstrip("/")


def media_url(media_id: str, base: str | None = None) -> str:
    """The absolute URL of a file's resource (`base`: base_url(), when already known)."""
    return f"{base or base_url()}{PREFIX}/{media_id}"


def describe(media: MediaFile, base: str | None = None) -> dict[str, Any]:
    """The seed's fields of a file, plus context, visibility and expiry."""
    return {
        "id": media.id,
        "file_name": media.file_name,
        "original_file_name": media.original_file_name,
        "file_type": media.file_type,
        "mime_type": media.mime_type,
        "file_size": media.file_size,
        "url": media_url(media.id, base),
        "created_at": iso_utc(media.created_at),
        "context_type": media.context_type,
        "context_id": media.context_id,
        "is_public": media.is_public,
        "expires_at": iso_utc(media.expires_at) if media.expires_at else None,
    }
