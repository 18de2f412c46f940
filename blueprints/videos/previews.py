"""GET /stream/poster/<filename>: a JPEG poster frame of the caller's video."""

from __future__ import annotations

from blueprints._http.api import Blueprint
from blueprints._http.auth import jwt_required
from blueprints._http.context import current_user, services
from blueprints._http.documented import thumbnail_responses
from blueprints._http.streaming import send_object

blp = Blueprint("posters", __name__, description="Poster frames of videos")

# The poster of a video version never changes (a new upload is a new ETag), so browsers may
# keep it for a day and revalidate it with If-None-Match after that.
POSTER_CACHE = "private, max-age=86400"
JPEG = thumbnail_responses()


@blp.route("/stream/poster/<filename>", methods=["GET"])
@jwt_required()
@blp.doc(security=[{"bearerAuth": []}], responses=JPEG)
@blp.errors(401, 404, 415, 503)
def poster(filename: str):
    """The frame at about 10% of the video, made on the first request and kept beside it."""
    library = services().videos.library
    info = library.poster(current_user(), filename)
    return send_object(
        size=info.size,
        content_type="image/jpeg",
        etag=info.etag,
        read=lambda start, end: library.read_poster(info, start, end),
        cache_control=POSTER_CACHE,
    )
