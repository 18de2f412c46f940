"""DELETE /entity/{id}: the entity, its history and its files go for good; ids stay unique."""

from __future__ import annotations

from app import create_app
from tests.blueprints.entities.test_create import entity_objects
from tests.fixtures.entities import create, make_picture, send_form


def test_delete_answers_the_deleted_item_and_removes_history_and_files(client, store, database):
    entity = create(client, make_picture(color=(1, 1, 1))).get_json()
    send_form(client, "PUT", f"/entity/{entity['id']}", {"is_collection": "false", "label": "2"},
              make_picture(color=(2, 2, 2)))  # fmt: skip
    assert len(entity_objects(store)) == 2

    response = client.delete(f"/entity/{entity['id']}")

    assert response.status_code == 200
    assert response.get_json()["id"] == entity["id"]
    assert response.get_json()["label"] == "2"
    assert client.get(f"/entity/{entity['id']}").status_code == 404
    assert client.get(f"/entity/{entity['id']}/versions").status_code == 404
    assert entity_objects(store) == []
    assert database["entity_versions"].count_documents({}) == 0
    assert database["entities"].count_documents({}) == 0


def test_delete_of_an_unknown_entity_is_404(client):
    response = client.delete("/entity/8")

    assert response.status_code == 404
    assert response.get_json() == {"detail": "Entity not found"}


def test_a_collection_with_children_is_409_and_an_empty_one_goes(client):
    album = create(client, label="album").get_json()["id"]
    child = create(client, label="child", parent_id=album).get_json()["id"]
    client.patch(f"/entity/{child}", json={"body": {"is_deleted": True}})

    refused = client.delete(f"/entity/{album}")

    assert refused.status_code == 409
    assert refused.get_json() == {"detail": f"Collection {album} is not empty"}
    assert client.delete(f"/entity/{child}").status_code == 200
    assert client.delete(f"/entity/{album}").status_code == 200


def test_the_bytes_of_a_deleted_entity_may_be_uploaded_again(client):
    data = make_picture()
    first = create(client, data).get_json()["id"]
    client.delete(f"/entity/{first}")

    again = create(client, data)

    assert again.status_code == 201
    assert again.get_json()["id"] == first + 1


def test_ids_are_not_reused_after_the_highest_is_deleted(client):
    first, highest = (create(client, label=n).get_json()["id"] for n in ("a", "b"))
    client.delete(f"/entity/{highest}")

    new = create(client, label="c").get_json()

    assert new["id"] == highest + 1
    assert client.get(f"/entity/{new['id']}/versions").get_json() == [
        {"version": 1, "updated_date": new["updated_date"], "updated_by": None, "change": "create"}
    ]  # a fresh history: nothing inherited from the deleted entity


def test_ids_are_not_reused_after_a_restart_of_the_embedded_store(tmp_path):
    settings = {"APP_ENV": "development", "DATA_DIR": str(tmp_path / "var"), "AUTH_DISABLED": True}
    first = create_app(settings)
    client = first.test_client()
    ids = [create(client, label=n).get_json()["id"] for n in ("a", "b", "c")]
    assert client.delete(f"/entity/{ids[-1]}").status_code == 200
    first.extensions["mediastore"].close()

    second = create_app(settings)
    try:
        client = second.test_client()
        assert client.get(f"/entity/{ids[0]}").get_json()["label"] == "a"
        assert create(client, label="d").get_json()["id"] == ids[-1] + 1
    finally:
        second.extensions["mediastore"].close()
