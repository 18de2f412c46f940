"""Downloads, range streaming and signed URLs for the caller's videos."""

from __future__ import annotations

from urllib.parse import urljoin

from flask import Response, request

from blueprints._http.api import Blueprint
from blueprints._http.auth import jwt_required
from blueprints._http.context import current_user, services
from blueprints._http.documented import download_responses
from blueprints._http.schemas import SignedUrlRead
from blueprints._http.streaming import send_object
from services.core.transfer import content_disposition

blp = Blueprint("download", __name__, description="Download, stream and signed URLs")

BINARY = {
    **download_responses("The bytes"),
    "307": {
        "description": "With STREAM_REDIRECT=true: the bytes are at a short-lived signed URL",
        "headers": {"Location": {"description": "The signed URL", "schema": {"type": "string"}}},
    },
}


def _send(filename: str, *, attachment: bool):
    library = services().videos.library
    video = library.find(current_user(), filename)
    # HEAD is answered here: no bytes to spare, and a signed URL is signed for GET only.
    if library.stream_redirect and request.method != "HEAD":
        return _redirect(library.read_url(video, attachment=attachment))
    return send_object(
        size=video.size,
        content_type=video.content_type,
        etag=video.etag,
        read=lambda start, end: library.read(video, start, end),
        disposition=content_disposition(video.filename) if attachment else None,
        slice_open_ranges=not attachment,
    )


def _redirect(url: str) -> Response:
    # 307, not 302: the client repeats the same request (method and Range header) there.
    # The URL grants access until it expires: no cache may keep it.
    headers = {"Location": urljoin(request.host_url, url), "Cache-Control": "private, no-store"}
    return Response(status=307, headers=headers)


@blp.route("/download/disk/<filename>", methods=["GET"])
@jwt_required()
@blp.doc(security=[{"bearerAuth": []}], responses=BINARY)
@blp.errors(401, 404, 416)
def download_to_disk(filename: str):
    """Send the video as an attachment, streamed from storage."""
    return _send(filename, attachment=True)


@blp.route("/stream/video/<filename>", methods=["GET"])
@jwt_required()
@blp.doc(security=[{"bearerAuth": []}], responses=BINARY)
@blp.errors(401, 404, 416)
def stream_video(filename: str):
    """Stream the video inline with single byte-range support."""
    return _send(filename, attachment=False)


@blp.route("/stream/direct/<filename>", methods=["GET"])
@jwt_required()
@blp.doc(security=[{"bearerAuth": []}])
@blp.response(200, SignedUrlRead)
@blp.errors(401, 404)
def stream_direct(filename: str):
    """Return a time-limited signed URL that streams the video without a token."""
    url = services().videos.library.signed_url(current_user(), filename)
    return {"url": urljoin(request.host_url, url)}
