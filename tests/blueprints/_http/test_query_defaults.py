"""Arguments: one schema instance per view; an empty query's answer kept where it cannot change."""

from __future__ import annotations

import itertools

from marshmallow import Schema, fields, post_load, validate

from app.errors import register_error_styles
from blueprints._http.api import FASTAPI, Blueprint


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    order = fields.String(load_default="name")
    after = fields.String()


def _client_for(make_app, schema, name):
    """An app with one GET /probe that answers the arguments it was handed."""
    app = make_app()
    blp = Blueprint(name, __name__, error_style=FASTAPI)

    @blp.route("/probe")
    @blp.arguments(schema, location="query")
    def probe(args):
        answer = dict(args)
        args["page"] = 99  # a view may change what it was handed
        return answer

    app.register_blueprint(blp)
    register_error_styles(app, [blp])
    return app.test_client()


def test_an_empty_query_answers_the_defaults_every_time_though_a_view_changed_them(make_app):
    client = _client_for(make_app, PageArgs(), "kept-copy")
    for _ in range(3):
        assert client.get("/probe").get_json() == {"page": 1, "order": "name"}


def test_a_query_after_an_empty_one_is_still_loaded_and_validated(make_app):
    client = _client_for(make_app, PageArgs(), "kept-then-query")
    assert client.get("/probe").get_json() == {"page": 1, "order": "name"}
    assert client.get("/probe?page=3&after=b").get_json() == {
        "page": 3,
        "order": "name",
        "after": "b",
    }
    refused = client.get("/probe?page=0")
    assert refused.status_code == 422
    assert refused.get_json()["detail"][0]["loc"] == ["query", "page"]
    assert client.get("/probe").get_json() == {"page": 1, "order": "name"}


def test_a_callable_default_is_loaded_on_every_request(make_app):
    counter = itertools.count(1)

    class Numbered(Schema):
        number = fields.Integer(load_default=lambda: next(counter))

    client = _client_for(make_app, Numbered(), "callable-default")
    assert [client.get("/probe").get_json()["number"] for _ in range(3)] == [1, 2, 3]


def test_a_schema_with_a_load_hook_is_loaded_on_every_request(make_app):
    counter = itertools.count(1)

    class Stamped(Schema):
        page = fields.Integer(load_default=1)

        @post_load
        def stamp(self, data, **_kwargs):
            return {**data, "stamp": next(counter)}

    client = _client_for(make_app, Stamped(), "load-hook")
    assert [client.get("/probe").get_json()["stamp"] for _ in range(3)] == [1, 2, 3]


def test_a_missing_required_argument_is_refused_on_every_empty_query(make_app):
    class Required(Schema):
        page = fields.Integer(required=True)

    client = _client_for(make_app, Required(), "required")
    for _ in range(2):
        refused = client.get("/probe")
        assert refused.status_code == 422
        assert refused.get_json()["detail"][0]["loc"] == ["query", "page"]


def test_a_schema_class_is_instantiated_once_for_every_request(make_app):
    built = []

    class Counted(PageArgs):
        def __init__(self, *args, **kwargs):
            built.append(self)
            super().__init__(*args, **kwargs)

    client = _client_for(make_app, Counted, "schema-class")
    answers = [client.get(f"/probe{query}").get_json() for query in ("", "?page=2", "")]
    assert [answer["page"] for answer in answers] == [1, 2, 1]
    assert len(built) == 1
