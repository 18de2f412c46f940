"""GET /storage-status: the caller's quota, usage and files."""

from __future__ import annotations

from flask_jwt_extended import jwt_required

from blueprints._http.api import Blueprint
from blueprints._http.context import current_user, services
from blueprints._http.schemas import StatusRead
from services.core.accounts import StoredTotals
from services.media.records import COLLECTION as MEDIA

blp = Blueprint("status", __name__, description="Storage status")


@blp.route("/storage-status", methods=["GET"])
@jwt_required()
@blp.doc(security=[{"bearerAuth": []}])
@blp.response(200, StatusRead)
@blp.errors(401)
def storage_status():
    """Report quota, bytes used, today's bandwidth and the stored files."""
    status = services().videos.library.status(current_user())
    media = status.stored.get(MEDIA, StoredTotals(0, 0))
    return {
        "total_storage": status.usage.quota_bytes,
        "used_storage": status.usage.used_bytes,
        "storage_percentage": status.usage.storage_percentage,
        "bandwidth_used_today": status.usage.bandwidth_used,
        "bandwidth_limit": status.usage.bandwidth_limit,
        "files": status.files,
        "media_bytes": media.bytes,
        "media_count": media.count,
    }
