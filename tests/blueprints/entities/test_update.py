"""PUT and PATCH /entity/{id}, and GET /entity/{id}/versions."""

from __future__ import annotations

from services.entities.changes import IMAGE_REFUSED
from tests.blueprints.entities.test_create import entity_objects
from tests.fixtures.entities import create, make_picture, send_form


def _put(client, entity_id: int, image: bytes | None = None, **fields):
    return send_form(client, "PUT", f"/entity/{entity_id}", fields, image)


def _patch(client, entity_id: int, **changes):
    return client.patch(f"/entity/{entity_id}", json={"body": changes})


def test_put_replaces_every_field_and_omitted_ones_become_null(client, clock):
    album = create(client, label="album").get_json()["id"]
    entity = create(
        client, make_picture(), label="old", description="words", parent_id=album
    ).get_json()
    clock.advance(hours=1)

    response = _put(client, entity["id"], is_collection="false", label="new")

    assert response.status_code == 200
    item = response.get_json()
    assert (item["label"], item["description"], item["parent_id"]) == ("new", None, None)
    assert item["md5"] == entity["md5"] and item["file_path"] == entity["file_path"]
    assert item["added_date"] == entity["added_date"]
    assert item["updated_date"] == "2026-11-21T13:00:00Z"


def test_put_needs_is_collection_and_label(client):
    entity_id = create(client, label="x").get_json()["id"]

    response = _put(client, entity_id, is_collection="true")

    assert response.status_code == 422
    assert response.get_json()["detail"][0]["loc"] == ["body", "label"]


def test_is_collection_cannot_change_either_way(client):
    album = create(client, label="album").get_json()["id"]
    picture = create(client, make_picture()).get_json()["id"]

    to_false = _put(client, album, is_collection="false", label="x")
    to_true = _put(client, picture, is_collection="true", label="x")

    assert to_false.status_code == to_true.status_code == 400
    assert to_false.get_json() == {
        "detail": "Cannot change is_collection from True to False. "
        "is_collection is immutable after entity creation."
    }
    assert to_true.get_json() == {
        "detail": "Cannot change is_collection from False to True. "
        "is_collection is immutable after entity creation."
    }


def test_put_with_a_new_image_replaces_the_file_and_its_metadata(client, clock):
    entity = create(client, make_picture("JPEG", (40, 30))).get_json()
    clock.advance(days=2)
    new = make_picture("PNG", (8, 6))

    item = _put(client, entity["id"], new, is_collection="false", label="new").get_json()

    assert (item["mime_type"], item["width"], item["height"]) == ("image/png", 8, 6)
    assert item["md5"] != entity["md5"]
    assert item["file_path"] == f"2026/11/23/{item['md5']}.png"


def test_put_with_an_image_held_by_another_entity_is_409_and_keeps_nothing(client, store):
    data = make_picture(color=(1, 2, 3))
    holder = create(client, data).get_json()
    other = create(client, make_picture(color=(9, 9, 9))).get_json()

    response = _put(client, other["id"], data, is_collection="false", label="x")

    assert response.status_code == 409
    assert response.get_json() == {
        "detail": f"File with MD5 {holder['md5']} already exists (entity ID: {holder['id']})"
    }
    assert client.get(f"/entity/{other['id']}").get_json() == other
    assert len(entity_objects(store)) == 2


def test_put_with_the_entitys_own_file_again_is_fine_and_stores_it_once(client, store):
    data = make_picture()
    entity = create(client, data).get_json()

    response = _put(client, entity["id"], data, is_collection="false", label="same")

    assert response.status_code == 200
    assert response.get_json()["md5"] == entity["md5"]
    assert len(entity_objects(store)) == 1


def test_a_collection_refuses_an_image_on_put(client, store):
    album = create(client, label="album").get_json()["id"]

    response = _put(client, album, make_picture(), is_collection="true", label="x")

    assert response.status_code == 400
    assert response.get_json() == {"detail": IMAGE_REFUSED}
    assert entity_objects(store) == []


def test_put_on_an_unknown_entity_is_404(client, store):
    response = _put(client, 42, make_picture(), is_collection="false", label="x")

    assert response.status_code == 404
    assert response.get_json() == {"detail": "Entity not found"}
    assert entity_objects(store) == []


def test_patch_changes_only_the_fields_present_and_null_clears(client):
    entity = create(client, label="keep", description="clear me").get_json()

    item = _patch(client, entity["id"], description=None).get_json()

    assert (item["label"], item["description"]) == ("keep", None)


def test_patch_soft_deletes_and_restores(client):
    entity_id = create(client, label="x").get_json()["id"]

    deleted = _patch(client, entity_id, is_deleted=True).get_json()
    restored = _patch(client, entity_id, is_deleted=False).get_json()

    assert deleted["is_deleted"] is True and restored["is_deleted"] is False
    assert client.get(f"/entity/{entity_id}").status_code == 200


def test_patch_takes_the_body_wrapper_only(client):
    entity_id = create(client, label="x").get_json()["id"]

    flat = client.patch(f"/entity/{entity_id}", json={"label": "flat"})
    unknown = client.patch(f"/entity/{entity_id}", json={"body": {"is_collection": False}})
    null_deleted = client.patch(f"/entity/{entity_id}", json={"body": {"is_deleted": None}})

    assert flat.status_code == unknown.status_code == null_deleted.status_code == 422
    assert ["body", "body"] in [d["loc"] for d in flat.get_json()["detail"]]
    assert client.get(f"/entity/{entity_id}").get_json()["label"] == "x"


def test_patch_on_an_unknown_entity_is_404(client):
    response = _patch(client, 5, label="x")

    assert response.status_code == 404
    assert response.get_json() == {"detail": "Entity not found"}


def test_versions_list_create_put_and_patch_in_order(client, clock):
    entity_id = create(client, make_picture()).get_json()["id"]
    clock.advance(minutes=1)
    _put(client, entity_id, is_collection="false", label="put")
    clock.advance(minutes=1)
    _patch(client, entity_id, label="patched")

    response = client.get(f"/entity/{entity_id}/versions")

    assert response.status_code == 200
    assert response.get_json() == [
        {"version": n, "updated_date": f"2026-11-21T12:0{n - 1}:00Z", "updated_by": None,
         "change": change}
        for n, change in ((1, "create"), (2, "update"), (3, "patch"))
    ]  # fmt: skip


def test_every_version_keeps_all_its_fields(client):
    first = make_picture("JPEG", (40, 30))
    entity = create(client, first, label="v1").get_json()
    second = _put(client, entity["id"], make_picture("PNG", (5, 5)), is_collection="false",
                  label="v2").get_json()  # fmt: skip
    third = _patch(client, entity["id"], is_deleted=True).get_json()

    versions = [client.get(f"/entity/{entity['id']}?version={n}").get_json() for n in (1, 2, 3)]

    assert versions == [entity, second, third]


def test_versions_of_an_unknown_entity_is_404(client):
    response = client.get("/entity/3/versions")

    assert response.status_code == 404
    assert response.get_json() == {"detail": "Entity not found or no versions available"}


def test_a_version_left_unrecorded_by_a_crash_is_recorded_before_the_next_change(client, database):
    entity_id = create(client, label="v1").get_json()["id"]
    # A crash after the change's commit and before its copy: the copy is missing.
    database["entity_versions"].delete_one({"_id": f"{entity_id}:1"})
    database["entities"].update_one({"_id": entity_id}, {"$set": {"pending_version": True}})

    _patch(client, entity_id, label="v2")

    assert client.get(f"/entity/{entity_id}?version=1").get_json()["label"] == "v1"
    assert [v["version"] for v in client.get(f"/entity/{entity_id}/versions").get_json()] == [1, 2]


def _side_by_side(requests_to_send):
    """Send the requests from threads at once; return the responses."""
    import threading

    answers = []

    def send(request):
        answers.append(request())

    threads = [threading.Thread(target=send, args=(request,)) for request in requests_to_send]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return answers


def test_two_racing_puts_of_the_same_bytes_give_one_200_and_one_409(make_app, database, store):
    from tests.blueprints.entities.test_create import RacingDatabase

    app = make_app(
        database_override=RacingDatabase(database, "entities", "find_one_and_update"),
        AUTH_DISABLED=True,
    )
    setup = make_app(AUTH_DISABLED=True).test_client()  # the same database, no rendezvous
    first, second = (create(setup, make_picture(color=(c, c, c))).get_json()["id"] for c in (1, 2))
    data = make_picture("PNG", color=(3, 3, 3))
    fields = {"is_collection": "false", "label": "racing"}

    answers = _side_by_side(
        [lambda n=n: send_form(app.test_client(), "PUT", f"/entity/{n}", fields, data)
         for n in (first, second)]
    )  # fmt: skip

    assert sorted(answer.status_code for answer in answers) == [200, 409]
    assert len(entity_objects(store)) == 3  # the loser's upload is gone


def test_two_racing_patches_both_land_as_versions(make_app, database):
    from tests.blueprints.entities.test_create import RacingDatabase

    app = make_app(
        database_override=RacingDatabase(database, "entities", "find_one_and_update"),
        AUTH_DISABLED=True,
    )
    setup = make_app(AUTH_DISABLED=True).test_client()
    entity_id = create(setup, label="v1").get_json()["id"]

    answers = _side_by_side(
        [lambda label=label: _patch(app.test_client(), entity_id, description=label)
         for label in ("a", "b")]
    )  # fmt: skip

    assert [answer.status_code for answer in answers] == [200, 200]
    versions = setup.get(f"/entity/{entity_id}/versions").get_json()
    assert [v["version"] for v in versions] == [1, 2, 3]
    descriptions = {setup.get(f"/entity/{entity_id}?version={n}").get_json()["description"]
                    for n in (2, 3)}  # fmt: skip
    assert descriptions == {"a", "b"}
