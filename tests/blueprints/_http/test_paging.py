"""Listing arguments are validated at the edge in the API's shape; pages carry their totals."""

from __future__ import annotations

import pytest
from marshmallow import Schema, fields

from app.errors import register_error_styles
from blueprints._http.api import FASTAPI, Blueprint
from blueprints._http.paging import PageLimitArgs, PageSizeArgs, pagination
from services.core.paging import Page, paginate


class ItemRead(Schema):
    n = fields.Integer()


@pytest.fixture
def listing(make_app, database):
    database["things"].insert_many({"_id": n, "n": n} for n in range(45))
    app = make_app()
    blp = Blueprint("probe-paging", __name__, error_style=FASTAPI)

    @blp.route("/things")
    @blp.arguments(PageLimitArgs, location="query")
    def things(args):
        page = paginate(
            database["things"], {}, sort=[("n", 1)], page=args["page"], size=args["limit"]
        )
        return {"items": [{"n": d["n"]} for d in page.items], "pagination": pagination(page)}

    @blp.route("/sized")
    @blp.arguments(PageSizeArgs, location="query")
    def sized(args):
        page = Page([], args["page"], args["page_size"], 0)
        return {"pagination": pagination(page, "page_size")}

    app.register_blueprint(blp)
    register_error_styles(app, [blp])
    return app.test_client()


def test_defaults_and_totals(listing):
    body = listing.get("/things").get_json()
    assert [item["n"] for item in body["items"]] == list(range(20))
    assert body["pagination"] == {
        "page": 1,
        "limit": 20,
        "total_items": 45,
        "total_pages": 3,
        "has_next": True,
        "has_prev": False,
    }


def test_the_last_page_and_beyond(listing):
    last = listing.get("/things?page=3&limit=20").get_json()
    assert [item["n"] for item in last["items"]] == list(range(40, 45))
    assert last["pagination"]["has_next"] is False and last["pagination"]["has_prev"] is True
    beyond = listing.get("/things?page=9").get_json()
    assert beyond["items"] == [] and beyond["pagination"]["total_items"] == 45


@pytest.mark.parametrize(
    "query, field",
    [("page=0", "page"), ("limit=0", "limit"), ("limit=101", "limit"), ("page=x", "page")],
)
def test_out_of_range_arguments_are_422_naming_the_field(listing, query, field):
    response = listing.get(f"/things?{query}")
    assert response.status_code == 422
    [detail] = response.get_json()["detail"]
    assert detail["loc"] == ["query", field]


def test_page_size_naming(listing):
    assert listing.get("/sized?page_size=100").get_json()["pagination"]["page_size"] == 100
    assert listing.get("/sized?page_size=101").status_code == 422


def test_an_empty_listing_has_no_pages():
    page = Page([], 1, 20, 0)
    assert (page.total_pages, page.has_next, page.has_prev) == (0, False, False)
