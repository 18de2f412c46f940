"""parent_id: an existing, live collection, never a descendant, at most 10 levels deep."""

from __future__ import annotations

import pytest

from tests.fixtures.entities import create, make_picture, send_form


def _chain(client, levels: int) -> list[int]:
    """Collections nested `levels` deep: ids from the top down."""
    ids: list[int] = []
    for level in range(levels):
        parent = {"parent_id": ids[-1]} if ids else {}
        ids.append(create(client, label=f"level {level + 1}", **parent).get_json()["id"])
    return ids


def _detail(response) -> str:
    assert response.status_code == 422, response.get_json()
    return response.get_json()["detail"]


def test_a_missing_parent_is_422(client):
    assert _detail(create(client, label="x", parent_id=41)) == (
        "Cannot set parent_id to 41: parent entity does not exist"
    )


def test_a_soft_deleted_parent_counts_as_missing(client):
    album = create(client, label="album").get_json()["id"]
    client.patch(f"/entity/{album}", json={"body": {"is_deleted": True}})

    assert _detail(create(client, label="x", parent_id=album)) == (
        f"Cannot set parent_id to {album}: parent entity does not exist"
    )


def test_a_parent_that_is_not_a_collection_is_422(client):
    picture = create(client, make_picture()).get_json()["id"]

    assert _detail(create(client, label="x", parent_id=picture)) == (
        f"Cannot set parent_id to {picture}: parent entity is not a collection"
    )


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_an_entity_cannot_be_its_own_parent_or_under_its_descendant(client, method):
    top, middle, bottom = _chain(client, 3)

    def move(entity_id: int, parent_id: int):
        if method == "PATCH":
            return client.patch(f"/entity/{entity_id}", json={"body": {"parent_id": parent_id}})
        fields = {"is_collection": "true", "label": "moved", "parent_id": parent_id}
        return send_form(client, "PUT", f"/entity/{entity_id}", fields)

    assert _detail(move(top, top)) == "Circular hierarchy detected"
    assert _detail(move(top, bottom)) == "Circular hierarchy detected"
    assert _detail(move(middle, bottom)) == "Circular hierarchy detected"
    assert client.get(f"/entity/{top}").get_json()["parent_id"] is None


def test_ten_levels_are_allowed_and_an_eleventh_is_not(client):
    chain = _chain(client, 10)

    refused = create(client, make_picture(), parent_id=chain[-1])

    assert _detail(refused).startswith(f"Cannot set parent_id to {chain[-1]}:")
    assert create(client, make_picture(), parent_id=chain[-2]).status_code == 201


def test_moving_a_subtree_counts_its_own_depth(client):
    deep = _chain(client, 8)  # levels 1..8
    subtree = _chain(client, 3)  # a collection with two levels below it

    refused = client.patch(f"/entity/{subtree[0]}", json={"body": {"parent_id": deep[-1]}})
    allowed = client.patch(f"/entity/{subtree[0]}", json={"body": {"parent_id": deep[-2]}})

    assert _detail(refused).startswith(f"Cannot set parent_id to {deep[-1]}:")
    assert allowed.status_code == 200


def test_moving_to_the_top_level_and_into_another_collection_works(client):
    first, second = (create(client, label=n).get_json()["id"] for n in ("1", "2"))
    child = create(client, label="c", parent_id=first).get_json()["id"]

    moved = client.patch(f"/entity/{child}", json={"body": {"parent_id": second}})
    top = client.patch(f"/entity/{child}", json={"body": {"parent_id": None}})

    assert moved.get_json()["parent_id"] == second
    assert top.get_json()["parent_id"] is None


def test_a_kept_parent_that_was_soft_deleted_since_does_not_block_other_changes(client):
    album = create(client, label="album").get_json()["id"]
    child = create(client, label="c", parent_id=album).get_json()["id"]
    client.patch(f"/entity/{album}", json={"body": {"is_deleted": True}})

    response = client.patch(f"/entity/{child}", json={"body": {"label": "renamed"}})

    assert response.status_code == 200
    assert response.get_json()["parent_id"] == album
