"""GET /storage-status: the caller's quota, usage and files."""

from __future__ import annotations

from flask_jwt_extended import jwt_required
from marshmallow import Schema, fields, validate

from blueprints._http.api import Blueprint
from blueprints._http.context import current_user, services
from blueprints._http.schemas import StatusRead
from services.core.accounts import StoredTotals
from services.media.records import COLLECTION as MEDIA
from services.videos.library import FILES_LIMIT_DEFAULT, FILES_LIMIT_MAX


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
def storage_status(files_limit: int, files_after: str | None = None):
    """Report quota, bytes used, today's bandwidth and the first stored files by name."""
    status = services().videos.library.status(current_user(), limit=files_limit, after=files_after)
    media = status.stored.get(MEDIA, StoredTotals(0, 0))
    return {
        "total_storage": status.usage.quota_bytes,
        "used_storage": status.usage.used_bytes,
        "storage_percentage": status.usage.storage_percentage,
        "bandwidth_used_today": status.usage.bandwidth_used,
        "bandwidth_limit": status.usage.bandwidth_limit,
        "files": status.files,
        "files_truncated": status.files_next is not None,
        "files_next": status.files_next,
        "media_bytes": media.bytes,
        "media_count": media.count,
    }
