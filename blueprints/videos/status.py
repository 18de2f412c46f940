"""GET /storage-status: the caller's quota, usage and files."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response, jsonify
from marshmallow import Schema, fields, validate

from blueprints._http.api import Blueprint
from blueprints._http.auth import jwt_required
from blueprints._http.context import current_user, services
from blueprints._http.schemas import StatusRead
from services.core.accounts import StoredTotals
from services.media.records import COLLECTION as MEDIA
from services.videos.library import FILES_LIMIT_DEFAULT, FILES_LIMIT_MAX, StorageStatus


class StatusArgs(Schema):
    """`?files_limit=&files_after=`: how many files to list (1..1000), after which name."""

    files_limit = fields.Integer(
        load_default=FILES_LIMIT_DEFAULT, validate=validate.Range(min=1, max=FILES_LIMIT_MAX)
    )
    files_after = fields.String(validate=validate.Length(min=1, max=1024))


blp = Blueprint("status", __name__, description="Storage status")


@blp.route("/storage-status", methods=["GET"])
@jwt_required()
@blp.arguments(StatusArgs(), location="query", as_kwargs=True)
@blp.doc(security=[{"bearerAuth": []}])
@blp.response(200, StatusRead)
@blp.errors(401)
def storage_status(files_limit: int, files_after: str | None = None) -> Response:
    """Report quota, bytes used, today's bandwidth and the first stored files by name."""
    status = services().videos.library.status(current_user(), limit=files_limit, after=files_after)
    return jsonify(status_body(status))


def status_body(status: StorageStatus) -> dict[str, Any]:
    """The body StatusRead documents, built directly.

    It is what `StatusRead().dump()` makes of the same values, field for field (the same
    conversions: int, float, str, bool, ISO 8601), at a fraction of the cost on the
    service's most frequent small request; tests/blueprints/videos/test_status.py holds the
    two equal.
    """
    usage = status.usage
    media = status.stored.get(MEDIA, StoredTotals(0, 0))
    return {
        "total_storage": int(usage.quota_bytes),
        "used_storage": int(usage.used_bytes),
        "storage_percentage": float(usage.storage_percentage),
        "bandwidth_used_today": int(usage.bandwidth_used),
        "bandwidth_limit": int(usage.bandwidth_limit),
        "files": [
            {
                "filename": str(file["filename"]),
                "name": str(file["name"]),
                "size": int(file["size"]),
                "content_type": str(file["content_type"]),
                "uploaded_at": _iso(file["uploaded_at"]),
            }
            for file in status.files
        ],
        "files_truncated": status.files_next is not None,
        "files_next": None if status.files_next is None else str(status.files_next),
        "media_bytes": int(media.bytes),
        "media_count": int(media.count),
    }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
