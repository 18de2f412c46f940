"""GET /entity/{id}/file: the stored bytes, by version, with ranges, validators and nosniff."""

from __future__ import annotations

from tests.fixtures.entities import create, make_picture, send_form, video


def test_the_file_streams_with_its_type_etag_and_nosniff(client):
    data = video("mp4", seconds=1.0)
    entity = create(client, data).get_json()

    response = client.get(f"/entity/{entity['id']}/file")

    assert response.status_code == 200
    assert response.data == data
    assert response.headers["Content-Type"] == "video/mp4"
    assert response.headers["ETag"] == f'"{entity["md5"]}"'
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Accept-Ranges"] == "bytes"


def test_a_range_is_answered_206_and_a_matching_etag_304(client):
    data = video("mp4", seconds=1.0)
    entity = create(client, data).get_json()
    path = f"/entity/{entity['id']}/file"

    ranged = client.get(path, headers={"Range": "bytes=10-19"})
    cached = client.get(path, headers={"If-None-Match": f'"{entity["md5"]}"'})
    beyond = client.get(path, headers={"Range": f"bytes={len(data) + 5}-"})

    assert ranged.status_code == 206 and ranged.data == data[10:20]
    assert ranged.headers["Content-Range"] == f"bytes 10-19/{len(data)}"
    assert cached.status_code == 304
    assert beyond.status_code == 416 and "detail" in beyond.get_json()


def test_old_versions_files_still_stream_after_the_file_is_replaced(client):
    first, second = make_picture(color=(5, 5, 5)), make_picture("PNG", color=(6, 6, 6))
    entity_id = create(client, first).get_json()["id"]
    send_form(client, "PUT", f"/entity/{entity_id}", {"is_collection": "false", "label": "b"},
              second)  # fmt: skip
    client.patch(f"/entity/{entity_id}", json={"body": {"label": "c"}})

    assert client.get(f"/entity/{entity_id}/file?version=1").data == first
    old = client.get(f"/entity/{entity_id}/file?version=1")
    assert old.headers["Content-Type"] == "image/jpeg"
    assert client.get(f"/entity/{entity_id}/file?version=2").data == second
    assert client.get(f"/entity/{entity_id}/file").data == second


def test_the_same_bytes_again_after_a_replacement_reuse_the_kept_object(client, store):
    from tests.blueprints.entities.test_create import entity_objects

    first, second = make_picture(color=(7, 7, 7)), make_picture(color=(8, 8, 8))
    entity_id = create(client, first).get_json()["id"]
    form = {"is_collection": "false", "label": "x"}
    send_form(client, "PUT", f"/entity/{entity_id}", form, second)

    back = send_form(client, "PUT", f"/entity/{entity_id}", form, first)

    assert back.status_code == 200
    assert client.get(f"/entity/{entity_id}/file").data == first
    assert len(entity_objects(store)) == 2


def test_a_collection_has_no_file(client):
    album = create(client, label="album").get_json()["id"]

    response = client.get(f"/entity/{album}/file")

    assert response.status_code == 404
    assert response.get_json() == {"detail": f"Entity {album} has no file"}


def test_unknown_entities_and_versions_have_no_file(client):
    entity_id = create(client, make_picture()).get_json()["id"]

    assert client.get("/entity/77/file").get_json() == {"detail": "Entity not found"}
    assert client.get(f"/entity/{entity_id}/file?version=3").status_code == 404


def test_head_describes_the_file_without_a_body(client):
    data = make_picture()
    entity_id = create(client, data).get_json()["id"]

    response = client.head(f"/entity/{entity_id}/file")

    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(len(data))
    assert response.data == b""
