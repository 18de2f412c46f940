"""DELETE /delete-file: answers, quota given back, usage recorded, retries converge."""

from __future__ import annotations

from tests.fixtures.failing import FailingStore
from tests.helpers import account, stored_names, upload
from tests.media import make_video_of_size


def test_delete_answers_with_the_seed_fields(client, auth, database, store):
    upload(client, auth(email="a@example.com"), make_video_of_size(4000), "a.mp4")
    upload(client, auth(email="a@example.com"), make_video_of_size(6000), "b.mp4")
    object_name = database["files"].find_one({"filename": "a.mp4"})["object_name"]
    client.delete("/delete-file", json={"filename": "b.mp4"}, headers=auth(email="a@example.com"))
    response = client.delete(
        "/delete-file", json={"filename": "a.mp4"}, headers=auth(email="a@example.com")
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["message"] == "File deleted successfully"
    assert body["email"] == "a@example.com"
    assert body["file_deleted"] == "a.mp4"
    assert body["file_size"] == 4000
    assert body["date"] == "2026-11-21"
    assert body["timestamp"].startswith("2026-11-21T12:00:00")
    assert body["updated_deletion_volume"] == 10_000
    assert body["total_deletion_count"] == 2
    assert stored_names(database, "alice") == []
    assert account(database, "alice")["used_bytes"] == 0
    assert account(database, "alice")["bandwidth"]["2026-11-21"] == 10_000
    assert store.delete(object_name) is False  # the object is gone too


def test_delete_records_the_day_in_the_usage_log(client, auth, database):
    upload(client, auth(), make_video_of_size(4000), "a.mp4")
    client.delete("/delete-file", json={"filename": "a.mp4"}, headers=auth())
    record = database["usage"].find_one({"user_id": "alice", "date": "2026-11-21"})
    assert record["upload_volume"] == 4000 and record["upload_count"] == 1
    assert record["deletion_volume"] == 4000 and record["deletion_count"] == 1
    assert [d["filename"] for d in record["deletions"]] == ["a.mp4"]
    assert [u["size"] for u in record["uploads"]] == [4000]


def test_missing_filename_is_400(client, auth):
    for body in ({}, {"filename": ""}, {"filename": None}, {"name": "a.mp4"}):
        response = client.delete("/delete-file", json=body, headers=auth())
        assert response.status_code == 400
        assert response.get_json() == {"error": "No filename provided"}
    response = client.delete("/delete-file", headers=auth())
    assert response.status_code == 400
    assert response.get_json() == {"error": "No filename provided"}


def test_delete_of_unknown_file_is_404(client, auth):
    upload(client, auth(), make_video_of_size(4000), "a.mp4")
    response = client.delete("/delete-file", json={"filename": "nope.mp4"}, headers=auth())
    assert response.status_code == 404
    assert response.get_json() == {"error": "File not found in user's storage"}


def test_delete_twice_counts_once(client, auth, database):
    upload(client, auth(), make_video_of_size(4000), "a.mp4")
    assert (
        client.delete("/delete-file", json={"filename": "a.mp4"}, headers=auth()).status_code == 200
    )
    assert (
        client.delete("/delete-file", json={"filename": "a.mp4"}, headers=auth()).status_code == 404
    )
    assert account(database, "alice")["used_bytes"] == 0
    assert database["usage"].find_one({"user_id": "alice"})["deletion_count"] == 1


def test_storage_failure_during_delete_is_503_and_the_retry_converges(
    make_app, auth, database, store
):
    failing = FailingStore(store)
    client = make_app(store_override=failing).test_client()
    upload(client, auth(), make_video_of_size(4000), "a.mp4")
    failing.fail_delete = True
    response = client.delete("/delete-file", json={"filename": "a.mp4"}, headers=auth())
    assert response.status_code == 503
    assert response.get_json() == {"error": "Storage is temporarily unavailable"}
    # The file is hidden at once, its quota still counted until the delete completes.
    assert client.get("/stream/video/a.mp4", headers=auth()).status_code == 404
    assert client.get("/storage-status", headers=auth()).get_json()["files"] == []
    assert account(database, "alice")["used_bytes"] == 4000
    failing.fail_delete = False
    response = client.delete("/delete-file", json={"filename": "a.mp4"}, headers=auth())
    assert response.status_code == 200
    assert account(database, "alice")["used_bytes"] == 0
    assert database["files"].count_documents({}) == 0
    assert database["usage"].find_one({"user_id": "alice"})["deletion_count"] == 1


def test_delete_without_token_is_401(client):
    response = client.delete("/delete-file", json={"filename": "a.mp4"})
    assert response.status_code == 401
    assert response.get_json() == {"error": "Unauthorized"}


def test_deeply_nested_json_is_400_not_a_crash(client, auth):
    response = client.delete(
        "/delete-file",
        data='{"filename": ' + "[" * 50_000 + "]" * 50_000 + "}",
        headers={**auth(), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.get_json() == {"error": "Invalid JSON body."}


def test_json_body_over_a_mebibyte_is_413(client, auth):
    response = client.delete(
        "/delete-file",
        json={"filename": "a" * (2 * 1024 * 1024)},
        headers=auth(),
    )
    assert response.status_code == 413
    assert response.is_json
