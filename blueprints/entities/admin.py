"""/admin/config: the entity API's runtime read-auth switch, for admins."""

from __future__ import annotations

from blueprints._http.api import ENTITIES, Blueprint
from blueprints._http.context import services
from blueprints.entities.access import WRITE_SECURITY, actor, requires
from blueprints.entities.schemas import ConfigRead, ReadAuthArgs, ReadAuthRead
from services.entities import Need

blp = Blueprint(
    "entity_admin",
    __name__,
    description="Runtime configuration of the entity API (admins)",
    error_style=ENTITIES,
)


@blp.route("/admin/config", methods=["GET"])
@requires(Need.ADMIN)
@blp.doc(security=WRITE_SECURITY)
@blp.response(200, ConfigRead)
@blp.errors(401, 403)
def read_config():
    """Whether entity reads need a token, and who last changed that."""
    return services().entities.access.read_auth.state()


@blp.route("/admin/config/read-auth", methods=["PUT"])
@requires(Need.ADMIN)
@blp.doc(security=WRITE_SECURITY)
@blp.arguments(ReadAuthArgs, location="json")
@blp.response(200, ReadAuthRead)
@blp.errors(401, 403)
def set_read_auth(args: dict):
    """Turn read authentication on or off for every instance (seen within 5 seconds)."""
    state = services().entities.access.read_auth.set(args["enabled"], actor())
    return {
        "read_auth_enabled": state["read_auth_enabled"],
        "message": "Configuration updated successfully",
    }
