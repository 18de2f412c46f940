"""Each API answers errors in its original's shape, decided by the blueprint that served it."""

from __future__ import annotations

import pytest
from marshmallow import Schema, fields, validate

from app.errors import register_error_styles
from blueprints._http.api import (
    DRF,
    FASTAPI,
    SEED_003,
    Blueprint,
    fastapi_details,
    field_message,
    first_message,
)
from services.core.errors import NotFound
from services.core.nesting import nested_deeper_than

MESSAGES = {
    "json": {
        "context_type": ["Must be one of: a, b."],
        "page": ["Missing data for required field."],
    }
}


def test_fastapi_details_name_location_field_and_kind():
    assert fastapi_details(MESSAGES) == [
        {"loc": ["body", "context_type"], "msg": "Must be one of: a, b.", "type": "value_error"},
        {"loc": ["body", "page"], "msg": "Missing data for required field.", "type": "missing"},
    ]
    assert fastapi_details({"query": {"limit": ["Too big."]}})[0]["loc"] == ["query", "limit"]


def test_seed_003_reports_the_first_message_and_drf_names_the_field():
    assert first_message(MESSAGES) == "Must be one of: a, b."
    assert field_message(MESSAGES) == "context_type: Must be one of: a, b."
    assert field_message({"json": {"_schema": ["Invalid input type."]}}) == "Invalid input type."


@pytest.mark.parametrize("depth, exceeds", [(32, False), (33, True)])
def test_json_depth_is_measured_without_recursion(depth, exceeds):
    value: object = 1
    for level in range(depth):
        value = {"a": value} if level % 2 else [value]
    assert nested_deeper_than(value, 32) is exceeds
    assert nested_deeper_than([[[[]]]] * 3, 4) is False


class PageArgs(Schema):
    page = fields.Integer(required=True, validate=validate.Range(min=1))


@pytest.mark.parametrize(
    "style, status, body",
    [
        (SEED_003, 400, {"error": "Must be greater than or equal to 1."}),
        (
            FASTAPI,
            422,
            {
                "detail": [
                    {
                        "loc": ["query", "page"],
                        "msg": "Must be greater than or equal to 1.",
                        "type": "value_error",
                    }
                ]
            },
        ),
        (DRF, 400, {"detail": "page: Must be greater than or equal to 1."}),
    ],
    ids=["seed-003", "fastapi", "drf"],
)
def test_validation_and_domain_errors_take_the_blueprints_shape(make_app, style, status, body):
    app = make_app()
    blp = Blueprint(f"probe-{style.name}", __name__, error_style=style)

    @blp.route("/probe")
    @blp.arguments(PageArgs, location="query")
    def probe(args):
        raise NotFound("No such thing")

    app.register_blueprint(blp)
    register_error_styles(app, [blp])
    client = app.test_client()

    invalid = client.get("/probe?page=0")
    assert (invalid.status_code, invalid.get_json()) == (status, body)
    missing = client.get("/probe?page=3")
    assert missing.status_code == 404
    assert missing.get_json() == {style.key: "No such thing"}


def test_screenshot_listing_answers_401_in_fastapi_shape(client):
    response = client.get("/api/screenshot/c1")
    assert (response.status_code, response.get_json()) == (401, {"detail": "Unauthorized"})


def test_video_api_keeps_its_error_key(client):
    response = client.get("/storage-status")
    assert (response.status_code, response.get_json()) == (401, {"error": "Unauthorized"})
