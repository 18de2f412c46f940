"""/entity/{id}/thumbnail and /entity/{id}/file-url: what pages and media elements need."""

from __future__ import annotations

from flask import request, url_for

from blueprints._http.api import ENTITIES, Blueprint
from blueprints._http.context import services
from blueprints._http.documented import thumbnail_responses
from blueprints._http.streaming import send_object
from blueprints.entities.access import READ_SECURITY, requires, requires_read_or_file_token
from blueprints.entities.routes import entity_id_of, entity_id_param
from blueprints.entities.schemas import FileUrlRead, SignedVersionArgs, VersionArgs
from services.entities import Need

blp = Blueprint(
    "entity_previews",
    __name__,
    description="Thumbnails and signed file URLs of entities (for pages and media elements)",
    error_style=ENTITIES,
)

JPEG = thumbnail_responses()
# A version's file never changes, so neither does its thumbnail; without a version the
# entity may move on to a new file, so the browser asks again (a 304 when nothing changed).
VERSION_CACHE = "private, max-age=31536000, immutable"
CURRENT_CACHE = "private, no-cache"


@blp.route("/entity/<entity_id>/thumbnail", methods=["GET"], parameters=entity_id_param())
@requires_read_or_file_token
@blp.doc(security=READ_SECURITY, responses=JPEG)
@blp.arguments(SignedVersionArgs, location="query")
@blp.errors(401, 403, 404, 415, 422, 503)
def entity_thumbnail(args: dict, entity_id: str):
    """A JPEG of the image, or of a video's frame at about 10%; made once, kept beside it."""
    entities = services().entities
    thumbnail = entities.thumbnail(entity_id_of(entity_id), args.get("version"))
    response = send_object(
        size=thumbnail.size,
        content_type="image/jpeg",
        etag=thumbnail.etag,
        read=lambda start, end: entities.read_thumbnail(thumbnail, start, end),
        cache_control=VERSION_CACHE if args.get("version") else CURRENT_CACHE,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@blp.route("/entity/<entity_id>/file-url", methods=["GET"], parameters=entity_id_param())
@requires(Need.READ)
@blp.doc(security=READ_SECURITY)
@blp.arguments(VersionArgs, location="query")
@blp.response(200, FileUrlRead)
@blp.errors(401, 403, 404, 422)
def entity_file_url(args: dict, entity_id: str):
    """Short-lived URLs of the file and thumbnail of a version (the current one by default).

    They carry a token instead of needing a bearer token, for `<img>` and `<video>`.
    """
    signed = services().entities.sign_file(entity_id_of(entity_id), args.get("version"))
    query = {"entity_id": signed.entity_id, "version": signed.version, "token": signed.token}
    return {
        "url": _absolute(url_for("entities.download_file", **query)),
        "thumbnail_url": _absolute(url_for("entity_previews.entity_thumbnail", **query)),
        "version": signed.version,
        "expires_at": signed.expires_at,
    }


def _absolute(path: str) -> str:
    base = services().entities.public_base_url or request.host_url.rstrip("/")
    return base + path
