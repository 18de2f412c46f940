"""/api/v1/media: upload, read, download, delete and list the caller's media files."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.views import MethodView
from flask_jwt_extended import get_current_user
from flask_smorest import abort
from marshmallow import ValidationError

from blueprints._http.api import FASTAPI, REQUIRED_MESSAGE, Blueprint
from blueprints._http.auth import jwt_required, verify_jwt_in_request
from blueprints._http.context import current_user, services
from blueprints._http.documented import download_responses, thumbnail_responses
from blueprints._http.multipart import MultipartForm
from blueprints._http.paging import pagination
from blueprints._http.schemas import multipart_body
from blueprints._http.streaming import send_object
from blueprints.media.limits import add_retry_after, check_rate_limit, client_address
from blueprints.media.schemas import (
    UPLOAD_FIELD_BYTES,
    MediaDetailRead,
    MediaListArgs,
    MediaListRead,
    MediaRead,
    UploadFieldsArgs,
)
from blueprints.media.urls import base_url, describe, media_url
from services.core.transfer import content_disposition
from services.media.records import MediaFile as StoredMedia
from services.media.uploads import UploadFields

blp = Blueprint("media", __name__, description="Media files (seed 001)", error_style=FASTAPI)
blp.after_request(add_retry_after)

SECURITY = [{"bearerAuth": []}]
UPLOAD_BODY = multipart_body("file")
UPLOAD_BODY["content"]["multipart/form-data"]["schema"]["properties"].update(
    {
        "context_type": {
            "type": "string",
            "enum": ["ticket_photo", "invoice_pdf", "website_media", "other"],
        },
        "context_id": {"type": "string", "format": "uuid"},
        "is_public": {"type": "boolean", "default": False},
        "expires_in": {"type": "integer", "minimum": 1, "description": "seconds until it expires"},
    }
)
BINARY = download_responses("The bytes")
# Shown inline by browsers; anything else is offered as a download.
INLINE_TYPES = ("image", "pdf")
# A file's bytes never change under its id, so neither does its thumbnail: browsers may
# keep it for a year (a deleted file's thumbnail is gone from the server, not the cache).
THUMBNAIL_CACHE = "private, max-age=31536000, immutable"
JPEG = thumbnail_responses()
TOKEN_PARAM = [{"in": "query", "name": "token", "schema": {"type": "string"}}]


def upload_fields(values: dict[str, str]) -> UploadFields:
    """The form's text fields, validated; 422 naming the field."""
    try:
        loaded = UploadFieldsArgs().load(values)
    except ValidationError as error:
        abort(422, messages={"form": error.messages})
    context_id = loaded.get("context_id")
    return UploadFields(
        context_type=loaded.get("context_type"),
        context_id=str(context_id) if context_id else None,
        is_public=loaded["is_public"],
        expires_in=loaded.get("expires_in"),
    )


def _downloadable(media_id: str) -> StoredMedia:
    """The file for a download: the bearer's, a download token's, or a public one.

    A bearer token that is sent must be valid (else 401); the download rate limit counts
    the user, or the client's address without one.
    """
    verify_jwt_in_request(optional=True)
    user = get_current_user()
    check_rate_limit("download", f"user:{user.id}" if user else f"addr:{client_address()}")
    return services().media.library.find_for_download(user, media_id, request.args.get("token"))


def _missing_file() -> None:
    abort(422, messages={"form": {"file": [REQUIRED_MESSAGE]}})


@blp.route("/api/v1/media/upload", methods=["POST"])
@jwt_required()
@blp.doc(requestBody=UPLOAD_BODY, security=SECURITY)
@blp.response(201, MediaRead)
@blp.errors(400, 401, 403, 413, 415, 422, 429)
def upload_media():
    """Upload one file (field `file`): its type is judged by its bytes; streamed, not buffered."""
    user = current_user()
    check_rate_limit("upload", f"user:{user.id}")
    form = MultipartForm(
        request.stream, request.content_type or "", files={"file": 1}, fields=UPLOAD_FIELD_BYTES
    )
    part = next(form.file_parts(), None)
    if part is None or not part.filename:
        _missing_file()
    upload_fields(form.values)  # the fields sent before the file: refuse early
    media = services().media.uploads.upload(
        user, part.filename, part.chunks, lambda: upload_fields(form.values)
    )
    return describe(media)


@blp.route("/api/v1/media/<media_id>")
class MediaFile(MethodView):
    @jwt_required()
    @blp.doc(security=SECURITY)
    @blp.response(200, MediaDetailRead)
    @blp.errors(401, 404)
    def get(self, media_id: str):
        """The file's metadata and a download URL that needs no Authorization header."""
        library = services().media.library
        media = library.find(current_user(), media_id)
        url = media_url(media.id)
        return {
            **describe(media),
            "download_url": f"{url}/download?token={library.download_token(media)}",
        }

    @jwt_required()
    @blp.doc(security=SECURITY)
    @blp.response(204)
    @blp.errors(401, 404)
    def delete(self, media_id: str):
        """Delete the file and give its bytes back to the owner's quota."""
        services().media.library.delete(current_user(), media_id)


@blp.route("/api/v1/media/<media_id>/download", methods=["GET"])
@blp.doc(security=[{"bearerAuth": []}, {}], parameters=TOKEN_PARAM, responses=BINARY)
@blp.errors(401, 403, 404, 416, 429)
def download_media(media_id: str):
    """The bytes: for the owner or an admin, a holder of a download token, or anyone if public."""
    library = services().media.library
    media = _downloadable(media_id)
    kind = "inline" if media.file_type in INLINE_TYPES else "attachment"
    response = send_object(
        size=media.file_size,
        content_type=media.mime_type,
        etag=media.etag,
        read=lambda start, end: library.read(media, start, end),
        disposition=content_disposition(media.original_file_name, kind),
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@blp.route("/api/v1/media/<media_id>/thumbnail", methods=["GET"])
@blp.doc(security=[{"bearerAuth": []}, {}], parameters=TOKEN_PARAM, responses=JPEG)
@blp.errors(401, 403, 404, 415, 429, 503)
def media_thumbnail(media_id: str):
    """A JPEG thumbnail of an image, for whoever may download it; made once, kept beside it."""
    library = services().media.library
    thumbnail = library.thumbnail(_downloadable(media_id))
    response = send_object(
        size=thumbnail.size,
        content_type="image/jpeg",
        etag=thumbnail.etag,
        read=lambda start, end: library.read_thumbnail(thumbnail, start, end),
        cache_control=THUMBNAIL_CACHE,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@blp.route("/api/v1/media", methods=["GET"])
@jwt_required()
@blp.doc(security=SECURITY)
@blp.arguments(MediaListArgs, location="query", as_kwargs=True)
@blp.response(200, MediaListRead)
@blp.errors(401, 422)
def list_media(page: int, limit: int, **filters: Any):
    """The caller's files (an admin's: everyone's), newest first, filtered and paged."""
    if filters.get("context_id") is not None:
        filters["context_id"] = str(filters["context_id"])
    found = services().media.library.list(current_user(), filters, page, limit)
    # describe() builds each field in its JSON form already; the schema documents the body
    # (and the fuzz tests hold the answers to it), a dump per item would only copy it.
    base = base_url()
    items = [describe(media, base) for media in found.items]
    return jsonify({"items": items, "pagination": pagination(found)})
