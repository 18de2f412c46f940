"""/api/upload/simple/ and /api/multipart/...: large recordings uploaded in parts (seed 002)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

from flask import request, url_for

from blueprints._http.api import DRF, Blueprint
from blueprints._http.auth import jwt_required
from blueprints._http.context import current_user, services
from blueprints._http.multipart import MultipartForm
from blueprints.parts.schemas import (
    MultipartAbortRead,
    MultipartCompleteArgs,
    MultipartCreateArgs,
    MultipartOkRead,
    MultipartPresignArgs,
    MultipartPresignRead,
    MultipartRegisterArgs,
    MultipartResultRead,
    MultipartSessionRead,
    MultipartStatusRead,
    SimpleUploadRead,
)
from services.core.errors import InvalidRequest
from services.parts import Completed, ListedPart, session_prefix
from services.parts.records import registered_bytes

blp = Blueprint(
    "parts", __name__, description="Large recordings uploaded in parts", error_style=DRF
)

SECURED = {"security": [{"bearerAuth": []}]}
SIMPLE_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "anyOf": [{"required": ["file"]}, {"required": ["video"]}],
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "video": {"type": "string", "format": "binary", "description": "or here"},
                    "user_id": {"type": "string", "description": "accepted and ignored"},
                },
            }
        }
    },
}
VIDEO_FIELDS = {"file": 1, "video": 1}


@blp.route("/api/upload/simple/", methods=["POST"])
@jwt_required()
@blp.doc(requestBody=SIMPLE_BODY, **SECURED)
@blp.response(201, SimpleUploadRead)
@blp.errors(400, 401, 403, 408, 413, 415)
def upload_simple():
    """Upload a whole recording in one request (form field `file`, or `video`), streamed."""
    form = MultipartForm(
        request.stream, request.content_type or "", files=VIDEO_FIELDS, fields={"user_id": 256}
    )
    filename, chunks = _one_video(form)
    receipt = services().parts.upload_simple(current_user(), filename, chunks)
    return {
        "video_url": video_url(receipt.filename),
        "filename": receipt.filename,
        "size": receipt.size,
    }, 201


@blp.route("/api/multipart/create/", methods=["POST"])
@jwt_required()
@blp.arguments(MultipartCreateArgs, location="json")
@blp.doc(**SECURED)
@blp.response(201, MultipartSessionRead)
@blp.errors(400, 401, 403, 413)
def create_session(args: dict[str, Any]):
    """Open an upload session; a declared `size` is reserved against quota and bandwidth now."""
    session = services().parts.create(
        current_user(), args["filename"], args["content_type"], args["size"]
    )
    return session_body(session), 201


@blp.route("/api/multipart/<upload_id>/presign/", methods=["POST"])
@jwt_required()
@blp.arguments(MultipartPresignArgs, location="json")
@blp.doc(**SECURED)
@blp.response(200, MultipartPresignRead)
@blp.errors(400, 401, 404, 409)
def presign_part(args: dict[str, Any], upload_id: str):
    """A signed URL to PUT one part (1..10000) straight to storage; it answers an ETag."""
    presigned = services().parts.presign(current_user(), upload_id, args["part_number"])
    upload = presigned.upload
    return {
        "presigned_url": urljoin(request.host_url, upload.url),
        "method": upload.method,
        "expires_at": drf_time(upload.expires_at),
        "headers": upload.headers,
        "max_bytes": presigned.max_bytes,
    }


@blp.route("/api/multipart/<upload_id>/register-part/", methods=["POST"])
@jwt_required()
@blp.arguments(MultipartRegisterArgs, location="json")
@blp.doc(**SECURED)
@blp.response(200, MultipartOkRead)
@blp.errors(400, 401, 403, 404, 409, 413)
def register_part(args: dict[str, Any], upload_id: str):
    """Record an uploaded part once storage holds it with this ETag; again replaces it."""
    services().parts.register(current_user(), upload_id, args["part_number"], args["etag"])
    return {"status": "ok"}


@blp.route("/api/multipart/<upload_id>/complete/", methods=["POST"])
@jwt_required()
@blp.arguments(MultipartCompleteArgs, location="json")
@blp.doc(**SECURED)
@blp.response(200, MultipartResultRead)
@blp.errors(400, 401, 403, 404, 409, 413, 415)
def complete_upload(args: dict[str, Any], upload_id: str):
    """Compose the listed parts into a video in the caller's library; repeating it is safe."""
    listed = [ListedPart(p["part_number"], p["etag"]) for p in args["parts"] or []]
    return result_body(services().parts.complete(current_user(), upload_id, listed))


@blp.route("/api/multipart/<upload_id>/status/", methods=["GET"])
@jwt_required()
@blp.doc(**SECURED)
@blp.response(200, MultipartStatusRead)
@blp.errors(401, 404)
def session_status(upload_id: str):
    """The session, its registered parts and bytes: what a client resuming needs."""
    session = services().parts.status(current_user(), upload_id)
    landed = session.get("landed")
    result = result_body(Completed(landed["filename"], landed["size"])) if landed else None
    return {
        **session_body(session),
        "bytes_uploaded": registered_bytes(session),
        "result": result,
    }


@blp.route("/api/multipart/<upload_id>/abort/", methods=["POST"])
@jwt_required()
@blp.doc(**SECURED)
@blp.response(200, MultipartAbortRead)
@blp.errors(401, 404, 409)
def abort_upload(upload_id: str):
    """Abort the session: its parts are deleted and its reservation given back."""
    services().parts.abort(current_user(), upload_id)
    return {"status": "aborted"}


# --- shaping -------------------------------------------------------------------------


def session_body(session: dict[str, Any]) -> dict[str, Any]:
    """The session as the seed's serializer showed it (ids are strings now)."""
    parts = sorted((int(key), part) for key, part in (session.get("parts") or {}).items())
    return {
        "id": session["_id"],
        "user_id": session["owner"],
        "filename": session["filename"],
        "content_type": session["content_type"],
        "size": session["size"],
        "s3_key": session["object_name"],
        "s3_upload_id": session_prefix(session["_id"]),
        "bucket": services().parts.bucket,
        "part_size": services().parts.limits.part_size,
        "status": session["status"],
        "created_at": drf_time(session["created_at"]),
        "expires_at": drf_time(session["expires_at"]),
        "parts": [
            {"part_number": number, "etag": part["etag"], "size": part["size"]}
            for number, part in parts
        ],
    }


def result_body(completed: Completed) -> dict[str, Any]:
    """What complete answers: the recording's URL, its final name and size."""
    return {
        "file_url": video_url(completed.filename),
        "filename": completed.filename,
        "size": completed.size,
    }


def video_url(filename: str) -> str:
    """The absolute URL that streams the caller's video of that name."""
    return url_for("download.stream_video", filename=filename, _external=True)


def drf_time(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, as Django REST framework writes datetimes."""
    text = moment.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _one_video(form: MultipartForm) -> tuple[str, Iterator[bytes]]:
    """The name and bytes of the form's one video; a second one fails the upload, uncommitted."""
    parts = form.file_parts()
    part = next(parts, None)
    if part is None:
        raise InvalidRequest("No file part")
    if not part.filename:
        raise InvalidRequest("No selected file")

    def alone() -> Iterator[bytes]:
        yield from part.chunks
        if next(parts, None) is not None:  # raised inside the upload, so it is undone
            raise InvalidRequest("Send one video, in form field 'file' or 'video'")

    return part.filename, alone()
