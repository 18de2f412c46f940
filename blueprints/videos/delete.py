"""DELETE /delete-file: remove one of the caller's videos."""

from __future__ import annotations

from blueprints._http.api import Blueprint
from blueprints._http.auth import jwt_required
from blueprints._http.context import current_user, services
from blueprints._http.schemas import DeleteArgs, DeleteRead

blp = Blueprint("delete", __name__, description="Video deletion")


@blp.route("/delete-file", methods=["DELETE"])
@jwt_required()
@blp.doc(security=[{"bearerAuth": []}])
@blp.arguments(DeleteArgs, location="json", unknown="exclude")
@blp.response(200, DeleteRead)
@blp.errors(400, 401, 404, 503)
def delete_file(args):
    """Delete a video by name, giving its storage back to the quota."""
    user = current_user()
    deletion = services().videos.library.delete(user, args["filename"])
    return {
        "message": "File deleted successfully",
        "email": user.email,
        "file_deleted": deletion.filename,
        "file_size": deletion.size,
        "timestamp": deletion.at.isoformat(),
        "date": deletion.at.strftime("%Y-%m-%d"),
        "updated_deletion_volume": deletion.deletion_volume,
        "total_deletion_count": deletion.deletion_count,
    }
