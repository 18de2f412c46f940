"""Every operation documents its errors in its API's own shape (blueprints/_http/documented.py)."""

from __future__ import annotations

import pytest
from flask import Flask

from app.errors import STYLES_KEY
from blueprints._http.api import FASTAPI, SEED_003, Api, Blueprint

ERROR_SCHEMAS = {"error": {"ErrorRead"}, "detail": {"DetailRead", "ValidationDetailRead"}}


def operations(client):
    spec = client.get("/openapi.json").get_json()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield f"{method.upper()} {path}", operation


def schema_name(response: dict) -> str | None:
    ref = response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
    return ref.rsplit("/", 1)[1] if ref else None


def test_no_operation_documents_flask_smorests_own_error_shape(client):
    spec = client.get("/openapi.json").get_json()
    assert "responses" not in spec.get("components", {})  # DEFAULT_ERROR, UNPROCESSABLE_...
    for name, operation in operations(client):
        assert "default" not in operation["responses"], name
        assert all("$ref" not in response for response in operation["responses"].values()), name


def test_every_error_response_is_in_the_shape_of_the_api_that_answers_it(app, client):
    styles = app.extensions[STYLES_KEY]
    for name, operation in operations(client):
        [blueprint] = operation["tags"]
        allowed = ERROR_SCHEMAS[styles[blueprint].key]
        for status, response in operation["responses"].items():
            if int(status) >= 400 and name != "GET /ready":  # /ready answers its checks
                assert schema_name(response) in allowed, (name, status)


def test_fastapi_validation_errors_are_documented_as_their_list(client):
    operation = dict(operations(client))["GET /api/v1/media"]
    assert schema_name(operation["responses"]["422"]) == "ValidationDetailRead"
    assert schema_name(operation["responses"]["401"]) == "DetailRead"


def test_statuses_that_follow_from_how_an_operation_is_built_are_documented(client):
    for name, operation in operations(client):
        responses = operation["responses"]
        if operation.get("security"):
            assert "401" in responses, name
        if "requestBody" in operation:
            assert {"408", "413"} <= set(responses), name
        if name != "GET /health":
            assert "503" in responses, name


@pytest.mark.parametrize(
    ("style", "validation", "schemas"),
    [
        (SEED_003, "400", {"404": "ErrorRead", "400": "ErrorRead"}),
        (FASTAPI, "422", {"404": "DetailRead", "422": "ValidationDetailRead"}),
    ],
)
def test_a_blueprint_documents_errors_and_validation_in_its_style(style, validation, schemas):
    from marshmallow import Schema, fields

    class NameArgs(Schema):
        name = fields.String(required=True)

    app = Flask(__name__)
    app.config.update(API_TITLE="t", API_VERSION="1", OPENAPI_VERSION="3.0.3")
    blp = Blueprint("toy", __name__, error_style=style)

    @blp.route("/toy", methods=["POST"])
    @blp.doc(security=[{"bearerAuth": []}])
    @blp.arguments(NameArgs, location="json")
    @blp.response(200)
    @blp.errors(404)
    def toy(args):
        return {}

    api = Api(app)
    api.register_blueprint(blp)
    responses = api.spec.to_dict()["paths"]["/toy"]["post"]["responses"]
    assert set(responses) == {"200", "401", "404", validation, "408", "413", "503"}
    for status, name in schemas.items():
        assert schema_name(responses[status]) == name
