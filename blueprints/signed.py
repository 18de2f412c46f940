"""GET /signed/<object>: objects reached through the local store's signed URLs."""

from __future__ import annotations

from flask import request

from blueprints._http.api import Blueprint
from blueprints._http.context import services
from blueprints._http.schemas import ErrorRead
from blueprints._http.streaming import send_object
from services.core.transfer import content_disposition

blp = Blueprint("signed", __name__, description="Signed URLs of the embedded object store")


@blp.route("/signed/<path:object_name>", methods=["GET"])
@blp.doc(responses={"200": {"description": "The bytes"}, "206": {"description": "A range"}})
@blp.alt_response(403, schema=ErrorRead)
@blp.alt_response(404, schema=ErrorRead)
def read_signed(object_name: str):
    """Serve an object to the holder of an unexpired, untampered signed URL."""
    args = request.args
    filename = args.get("filename")
    library = services().videos.library
    info = library.open_signed(
        object_name, args.get("expires", ""), args.get("signature", ""), filename
    )
    return send_object(
        size=info.size,
        content_type=info.content_type,
        etag=info.etag,
        read=lambda start, end: library.read_object(object_name, start, end),
        disposition=content_disposition(filename) if filename else None,
        slice_open_ranges=True,
    )
