"""POST /api/screenshot/<catalog_id> for peers (one-time token), GET for users."""

from __future__ import annotations

from urllib.parse import urljoin

from flask import request
from flask.views import MethodView

from blueprints._http.api import FASTAPI, Blueprint
from blueprints._http.auth import jwt_required
from blueprints._http.context import services
from blueprints._http.multipart import MultipartForm
from blueprints._http.schemas import multipart_body
from blueprints.screenshots.schemas import ScreenshotListRead, ScreenshotUploadRead

blp = Blueprint(
    "screenshots", __name__, description="Screenshots uploaded by peers", error_style=FASTAPI
)

UPLOAD_BODY = multipart_body("files", repeated=True)


@blp.route("/api/screenshot/<catalog_id>")
class Screenshots(MethodView):
    @blp.doc(requestBody=UPLOAD_BODY, security=[{"bearerAuth": []}])
    @blp.response(200, ScreenshotUploadRead)
    @blp.errors(400, 401, 403, 413, 415)
    def post(self, catalog_id: str):
        """Upload screenshots (repeatable field `files`) with a peer's one-time token."""
        form = MultipartForm(request.stream, request.content_type or "", files={"files": None})
        files = form.file_parts()  # read only once the peer's token has been verified
        result = services().screenshots.upload(
            request.headers.get("Authorization"), catalog_id, files
        )
        return {
            "catalog_id": result["catalog_id"],
            "screenshot_urls": _absolute(result["screenshot_urls"]),
            "status": "success",
            "message": "Screenshots uploaded successfully",
        }

    @jwt_required()
    @blp.doc(security=[{"bearerAuth": []}])
    @blp.response(200, ScreenshotListRead)
    @blp.errors(401)
    def get(self, catalog_id: str):
        """List a catalog item's screenshots as fresh signed URLs."""
        urls = services().screenshots.list_urls(catalog_id)
        return {"catalog_id": catalog_id, "screenshot_urls": _absolute(urls)}


def _absolute(urls: list[str]) -> list[str]:
    return [urljoin(request.host_url, url) for url in urls]
