"""/entity: the media library's entities, their versions and their files (seed 004)."""

from __future__ import annotations

import copy
import re

from flask import jsonify, request

from blueprints._http.api import ENTITIES, Blueprint
from blueprints._http.context import services
from blueprints._http.documented import download_responses
from blueprints._http.paging import pagination
from blueprints._http.streaming import send_object
from blueprints.entities.access import (
    READ_SECURITY,
    WRITE_SECURITY,
    actor,
    requires,
    requires_read_or_file_token,
)
from blueprints.entities.forms import EntityForm
from blueprints.entities.schemas import (
    EntityFormArgs,
    EntityListArgs,
    EntityListRead,
    EntityPatchArgs,
    EntityReplaceArgs,
    ItemRead,
    SignedVersionArgs,
    VersionArgs,
    VersionRead,
    item_body,
    refuse,
)
from services.core.errors import NotFound
from services.core.transfer import content_disposition
from services.entities import ListQuery, Need

blp = Blueprint(
    "entities",
    __name__,
    description="Media entities and collections with versions (seed 004)",
    error_style=ENTITIES,
)

FORM_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["is_collection"],
                "properties": {
                    "is_collection": {"type": "boolean"},
                    "label": {"type": "string"},
                    "description": {"type": "string"},
                    "parent_id": {"type": "integer"},
                    "image": {"type": "string", "format": "binary"},
                },
            }
        }
    },
}
# PUT replaces every field: the label is required there too (seed 004).
REPLACE_BODY = copy.deepcopy(FORM_BODY)
REPLACE_BODY["content"]["multipart/form-data"]["schema"]["required"] = ["is_collection", "label"]
BINARY = download_responses("The file")


def entity_id_param() -> list[dict]:
    """The path's entity id as documented: an integer (read after authentication)."""
    schema = {"type": "integer", "minimum": 1}
    return [{"in": "path", "name": "entity_id", "required": True, "schema": schema}]


_DIGITS = re.compile(r"[0-9]+")


def entity_id_of(text: str) -> int:
    """The path's entity id: 422 unless it is an integer, 404 beyond any id ever given."""
    if not _DIGITS.fullmatch(text):
        refuse("path", "entity_id", "Not a valid integer.")
    if len(text) > 18:
        raise NotFound("Entity not found")
    return int(text)


@blp.route("/entity/", methods=["GET"], strict_slashes=False)
@requires(Need.READ)
@blp.doc(security=READ_SECURITY)
@blp.arguments(EntityListArgs, location="query")
@blp.response(200, EntityListRead)
@blp.errors(401, 403)
def list_entities(args: dict):
    """List entities, id ascending: filter, search, soft-deleted ones, past versions."""
    query = ListQuery(
        page=args["page"],
        size=args["page_size"],
        version=args.get("version"),
        filters=args.get("filter_param") or {},
        search=args.get("search_query") or None,
        include_deleted=args["include_deleted"],
    )
    page = services().entities.list(query)
    items = [item_body(item) for item in page.items]
    return jsonify({"items": items, "pagination": pagination(page, "page_size")})


@blp.route("/entity/", methods=["POST"], strict_slashes=False)
@requires(Need.WRITE)
@blp.doc(security=WRITE_SECURITY, requestBody=FORM_BODY)
@blp.response(201, ItemRead)
@blp.errors(400, 401, 403, 409, 413, 415, 422)
def create_entity():
    """Create an entity: a collection, or an image or video (field `image`), streamed."""
    entities = services().entities
    form = EntityForm(request, EntityFormArgs(), entities.max_file_bytes)
    return entities.create(actor(), form)


@blp.route("/entity/<entity_id>", methods=["GET"], parameters=entity_id_param())
@requires(Need.READ)
@blp.doc(security=READ_SECURITY)
@blp.arguments(VersionArgs, location="query")
@blp.response(200, ItemRead)
@blp.errors(401, 403, 404, 422)
def get_entity(args: dict, entity_id: str):
    """One entity, as it is now or as it was in `version`."""
    return services().entities.get(entity_id_of(entity_id), args.get("version"))


@blp.route("/entity/<entity_id>", methods=["PUT"], parameters=entity_id_param())
@requires(Need.WRITE)
@blp.doc(security=WRITE_SECURITY, requestBody=REPLACE_BODY)
@blp.response(200, ItemRead)
@blp.errors(400, 401, 403, 404, 409, 413, 415, 422)
def replace_entity(entity_id: str):
    """Replace every field (omitted optional ones become null), and the file if one is sent."""
    number, entities = entity_id_of(entity_id), services().entities
    form = EntityForm(request, EntityReplaceArgs(), entities.max_file_bytes)
    return entities.replace(actor(), number, form)


@blp.route("/entity/<entity_id>", methods=["PATCH"], parameters=entity_id_param())
@requires(Need.WRITE)
@blp.doc(security=WRITE_SECURITY)
@blp.arguments(EntityPatchArgs, location="json")
@blp.response(200, ItemRead)
@blp.errors(401, 403, 404, 422)
def patch_entity(args: dict, entity_id: str):
    """Change the fields given in `body`; `is_deleted` soft-deletes or restores."""
    return services().entities.patch(actor(), entity_id_of(entity_id), args["body"])


@blp.route("/entity/<entity_id>", methods=["DELETE"], parameters=entity_id_param())
@requires(Need.WRITE)
@blp.doc(security=WRITE_SECURITY)
@blp.response(200, ItemRead)
@blp.errors(401, 403, 404, 409, 422)
def delete_entity(entity_id: str):
    """Delete the entity, its history and its files for good (not recoverable)."""
    return services().entities.delete(entity_id_of(entity_id))


@blp.route("/entity/<entity_id>/versions", methods=["GET"], parameters=entity_id_param())
@requires(Need.READ)
@blp.doc(security=READ_SECURITY)
@blp.response(200, VersionRead(many=True))
@blp.errors(401, 403, 404, 422)
def list_versions(entity_id: str):
    """Every version of the entity, oldest first."""
    return services().entities.versions(entity_id_of(entity_id))


@blp.route("/entity/<entity_id>/file", methods=["GET"], parameters=entity_id_param())
@requires_read_or_file_token
@blp.doc(security=READ_SECURITY, responses=BINARY)
@blp.arguments(SignedVersionArgs, location="query")
@blp.errors(401, 403, 404, 416, 422)
def download_file(args: dict, entity_id: str):
    """Stream the entity's file (or a version's), with ranges and ETag; `token` from file-url."""
    entities = services().entities
    file = entities.file(entity_id_of(entity_id), args.get("version"))
    response = send_object(
        size=file.size,
        content_type=file.content_type,
        etag=file.etag,
        read=lambda start, end: entities.read(file, start, end),
        disposition=content_disposition(file.download_name, "inline"),
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
