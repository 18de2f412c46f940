"""GET /entity/{id} and GET /entity/: versions, order, totals, filters, search, soft deletes."""

from __future__ import annotations

import pytest

from tests.fixtures.entities import create, make_picture, send_form


def _collections(client, *labels: str, **fields) -> list[int]:
    return [create(client, label=label, **fields).get_json()["id"] for label in labels]


def _listing(client, query: str = "") -> dict:
    response = client.get(f"/entity/?{query}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_an_entity_is_read_by_id(client):
    [entity_id] = _collections(client, "one")

    response = client.get(f"/entity/{entity_id}")

    assert response.status_code == 200
    assert response.get_json()["label"] == "one"


def test_an_unknown_id_is_404_and_a_non_integer_id_is_422(client):
    assert client.get("/entity/99").get_json() == {"detail": "Entity not found"}
    assert client.get("/entity/99").status_code == 404
    response = client.get("/entity/abc")
    assert response.status_code == 422
    assert response.get_json()["detail"][0]["loc"] == ["path", "entity_id"]


def test_a_version_is_read_with_the_fields_as_they_were(client, clock):
    [entity_id] = _collections(client, "first")
    clock.advance(minutes=5)
    client.patch(f"/entity/{entity_id}", json={"body": {"label": "second"}})

    old = client.get(f"/entity/{entity_id}?version=1").get_json()
    new = client.get(f"/entity/{entity_id}?version=2").get_json()

    assert (old["label"], old["updated_date"]) == ("first", "2026-11-21T12:00:00Z")
    assert (new["label"], new["updated_date"]) == ("second", "2026-11-21T12:05:00Z")
    assert client.get(f"/entity/{entity_id}").get_json() == new


def test_an_unknown_version_is_404_naming_it(client):
    [entity_id] = _collections(client, "only")

    response = client.get(f"/entity/{entity_id}?version=7")

    assert response.status_code == 404
    assert response.get_json() == {"detail": f"Entity {entity_id} version 7 not found"}
    assert client.get(f"/entity/{entity_id}?version=0").status_code == 422


def test_the_listing_is_paged_in_id_order_with_counted_totals(client):
    ids = _collections(client, *[f"c{n}" for n in range(5)])

    first = _listing(client, "page=1&page_size=2")
    last = _listing(client, "page=3&page_size=2")

    assert [item["id"] for item in first["items"]] == ids[:2]
    assert first["pagination"] == {
        "page": 1, "page_size": 2, "total_items": 5, "total_pages": 3,
        "has_next": True, "has_prev": False,
    }  # fmt: skip
    assert [item["id"] for item in last["items"]] == ids[4:]
    assert last["pagination"]["has_next"] is False and last["pagination"]["has_prev"] is True


@pytest.mark.parametrize(
    "query", ["page=0", "page_size=0", "page_size=101", "page=x", "include_deleted=maybe"]
)
def test_bad_paging_is_422(client, query):
    response = client.get(f"/entity/?{query}")

    assert response.status_code == 422
    assert response.get_json()["detail"][0]["loc"][0] == "query"


def test_soft_deleted_entities_are_left_out_unless_asked_for(client):
    kept, gone = _collections(client, "kept", "gone")
    client.patch(f"/entity/{gone}", json={"body": {"is_deleted": True}})

    default = _listing(client)
    everything = _listing(client, "include_deleted=true")

    assert [item["id"] for item in default["items"]] == [kept]
    assert default["pagination"]["total_items"] == 1
    assert [item["id"] for item in everything["items"]] == [kept, gone]


def test_a_version_listing_shows_only_entities_with_that_version_and_counts_them(client):
    a, b, c = _collections(client, "a", "b", "c")
    client.patch(f"/entity/{b}", json={"body": {"label": "b2"}})
    client.patch(f"/entity/{c}", json={"body": {"label": "c2"}})
    client.patch(f"/entity/{c}", json={"body": {"label": "c3"}})

    second = _listing(client, "version=2")
    first = _listing(client, "version=1&page_size=2")

    assert [(i["id"], i["label"]) for i in second["items"]] == [(b, "b2"), (c, "c2")]
    assert second["pagination"]["total_items"] == 2
    assert [(i["id"], i["label"]) for i in first["items"]] == [(a, "a"), (b, "b")]
    assert first["pagination"]["total_items"] == 3 and first["pagination"]["has_next"]
    assert _listing(client, "version=4")["pagination"]["total_items"] == 0


def test_search_matches_label_and_description_case_insensitively(client):
    beach = create(client, label="Beach Day").get_json()["id"]
    sunset = create(client, label="x", description="sunset at the BEACH").get_json()["id"]
    create(client, label="Mountains")

    found = _listing(client, "search_query=beach")

    assert [item["id"] for item in found["items"]] == [beach, sunset]
    assert found["pagination"]["total_items"] == 2
    assert _listing(client, "search_query=(b")["pagination"]["total_items"] == 0  # literal


def test_filters_select_by_type_parent_and_collection(client):
    album = create(client, label="album").get_json()["id"]
    picture = create(client, make_picture("PNG"), parent_id=album).get_json()
    clip = create(client, make_picture("JPEG")).get_json()

    def ids(filter_param: str) -> list[int]:
        return [item["id"] for item in _listing(client, f"filter_param={filter_param}")["items"]]

    assert ids("type:image") == [picture["id"], clip["id"]]
    assert ids("mime_type:image/png") == [picture["id"]]
    assert ids("extension:jpg") == [clip["id"]]
    assert ids("is_collection:true") == [album]
    assert ids(f"parent_id:{album}") == [picture["id"]]
    assert ids("parent_id:null") == [album, clip["id"]]
    assert ids(f"md5:{clip['md5']}") == [clip["id"]]
    assert ids("type:image,parent_id:null") == [clip["id"]]
    assert ids("extension:png,extension:jpg") == [picture["id"], clip["id"]]


def test_added_by_filters_by_the_author(make_app, keys, bearer):
    client = make_app(JWT_ALGORITHM="ES256", JWT_PUBLIC_KEY=keys.public_pem).test_client()
    write = {"permissions": ["media_store_write"]}
    create(client, headers=bearer("alice", **write), label="a")
    bobs = create(client, headers=bearer("bob", **write), label="b").get_json()["id"]

    listing = _listing(client, "filter_param=added_by:bob")

    assert [item["id"] for item in listing["items"]] == [bobs]


@pytest.mark.parametrize(
    ("filter_param", "named"),
    [
        ("colour:red", "colour"),
        ("type", "type"),
        ("type:", "type:"),
        ("is_collection:maybe", "is_collection"),
        ("parent_id:abc", "parent_id"),
    ],
)
def test_an_unknown_or_malformed_filter_is_422_naming_it(client, filter_param, named):
    response = client.get(f"/entity/?filter_param={filter_param}")

    assert response.status_code == 422
    [detail] = response.get_json()["detail"]
    assert detail["loc"] == ["query", "filter_param"]
    assert named in detail["msg"]


def test_the_filter_syntax_is_documented_in_the_openapi_description(client):
    spec = client.get("/openapi.json").get_json()
    parameters = spec["paths"]["/entity/"]["get"]["parameters"]
    [described] = [p for p in parameters if p["name"] == "filter_param"]

    assert "field:value" in described["description"]
    assert "parent_id:null" in described["description"]


def test_the_listing_reads_an_item_exactly_as_get_does(client):
    album = create(client, label="album").get_json()["id"]
    send_form(client, "POST", "/entity/", {"is_collection": "false", "parent_id": album},
              make_picture())  # fmt: skip

    listed = _listing(client)["items"]

    assert listed == [client.get(f"/entity/{item['id']}").get_json() for item in listed]


@pytest.mark.parametrize(
    "query",
    [
        "page=99999999999999999999",
        "version=99999999999999999999999",
        "filter_param=" + "a" * 5000,
        "filter_param=parent_id:99999999999999999999",
    ],
)
def test_out_of_range_listing_arguments_are_422_not_a_crash(client, query):
    response = client.get(f"/entity/?{query}")

    assert response.status_code == 422
    assert len(response.get_json()["detail"][0]["msg"]) < 200


def test_the_listing_and_create_answer_without_the_trailing_slash(client):
    assert create(client, label="x").status_code == 201
    assert client.get("/entity").status_code == 200
    assert client.post("/entity", data={"is_collection": "true"}).status_code == 201
