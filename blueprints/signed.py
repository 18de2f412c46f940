"""/signed/<object>: the local store's signed URLs, GET to read and PUT to write."""

from __future__ import annotations

from flask import Response, request

from blueprints._http.api import Blueprint
from blueprints._http.context import services
from blueprints._http.documented import download_responses
from blueprints._http.streaming import send_object
from services.core.transfer import content_disposition

blp = Blueprint("signed", __name__, description="Signed URLs of the embedded object store")

PUT_RESPONSES = {
    "200": {
        "description": "Stored",
        "headers": {"ETag": {"description": "The quoted MD5 of the bytes stored"}},
    }
}


@blp.route("/signed/<path:object_name>", methods=["GET"])
@blp.doc(responses=download_responses("The bytes"))
@blp.errors(403, 404, 416)
def read_signed(object_name: str):
    """Serve an object to the holder of an unexpired, untampered signed GET URL."""
    download = services().signed.open_download(object_name, request.args)
    info = download.info
    return send_object(
        size=info.size,
        content_type=info.content_type,
        etag=info.etag,
        read=download.read,
        disposition=content_disposition(download.download_name) if download.download_name else None,
        slice_open_ranges=True,
    )


@blp.route("/signed/<path:object_name>", methods=["PUT"])
@blp.doc(responses=PUT_RESPONSES)
@blp.errors(403, 404, 408, 413)
def write_signed(object_name: str):
    """Store the streamed body under the object of an unexpired signed PUT URL."""
    info = services().signed.receive(
        object_name,
        request.args,
        request.stream,
        content_type=request.headers.get("Content-Type"),
        declared_length=request.content_length,
    )
    # As S3 and GCS answer a PUT: the quoted MD5, readable by a browser's script.
    headers = {"ETag": f'"{info.md5}"', "Access-Control-Expose-Headers": "ETag"}
    return Response(status=200, headers=headers)
