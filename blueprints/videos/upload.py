"""POST /upload: a video streamed from the multipart body into storage."""

from __future__ import annotations

from flask import request

from blueprints._http.api import Blueprint
from blueprints._http.auth import jwt_required
from blueprints._http.context import current_user, services
from blueprints._http.multipart import MultipartForm
from blueprints._http.schemas import UploadRead, multipart_body
from services.core.errors import InvalidRequest

blp = Blueprint("upload", __name__, description="Video upload with quota and bandwidth checks")

UPLOAD_BODY = multipart_body("file")


@blp.route("/upload", methods=["POST"])
@jwt_required()
@blp.doc(requestBody=UPLOAD_BODY, security=[{"bearerAuth": []}])
@blp.response(200, UploadRead)
@blp.errors(400, 401, 403, 409, 413, 415)
def upload_video():
    """Upload one video (form field `file`); the body is streamed, never buffered."""
    form = MultipartForm(request.stream, request.content_type or "", files={"file": 1})
    part = next(form.file_parts(), None)
    if part is None:
        raise InvalidRequest("No file part")
    if not part.filename:
        raise InvalidRequest("No selected file")
    receipt = services().videos.uploads.upload(current_user(), part.filename, part.chunks)
    usage = receipt.usage
    return {
        "message": "File uploaded successfully",
        "storage_80_alert": usage.storage_alert,
        "bandwidth_80_alert": usage.bandwidth_alert,
        "storage_percentage_used": usage.storage_percentage,
        "total_bandwidth_used": usage.bandwidth_used,
        "bandwidth_total_limit": usage.bandwidth_limit,
        "bandwidth_percentage_used": usage.bandwidth_percentage,
        "filename": receipt.filename,
        "size": receipt.size,
        "content_type": receipt.content_type,
    }
