"""/openapi.json describes the entity API: its paths, bodies, shapes and auth modes."""

from __future__ import annotations

from tests.blueprints.entities.test_create import ITEM_KEYS


def test_every_entity_endpoint_is_described(client):
    spec = client.get("/openapi.json").get_json()
    paths = spec["paths"]

    assert {"get", "post"} <= set(paths["/entity/"])
    assert {"get", "put", "patch", "delete"} <= set(paths["/entity/{entity_id}"])
    assert "get" in paths["/entity/{entity_id}/versions"]
    assert "get" in paths["/entity/{entity_id}/file"]
    assert "get" in paths["/admin/config"] and "put" in paths["/admin/config/read-auth"]
    [entity_id] = paths["/entity/{entity_id}"]["parameters"]
    assert entity_id["schema"]["type"] == "integer"
    form = paths["/entity/"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert {"is_collection", "image"} <= set(form["schema"]["properties"])
    assert set(spec["components"]["schemas"]["ItemRead"]["properties"]) == ITEM_KEYS


def test_writes_need_a_token_and_reads_may_take_one(client):
    paths = client.get("/openapi.json").get_json()["paths"]

    assert paths["/entity/"]["post"]["security"] == [{"bearerAuth": []}]
    assert paths["/entity/{entity_id}"]["delete"]["security"] == [{"bearerAuth": []}]
    assert paths["/entity/"]["get"]["security"] == [{"bearerAuth": []}, {}]
    assert paths["/admin/config"]["get"]["security"] == [{"bearerAuth": []}]
