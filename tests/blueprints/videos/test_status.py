"""GET /storage-status: the seed's shape for new and active users."""

from __future__ import annotations

from tests.helpers import upload
from tests.media import make_video_of_size


def test_new_user_sees_an_empty_default_account(client, auth):
    response = client.get("/storage-status", headers=auth("newcomer"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["total_storage"] == 52_428_800
    assert body["used_storage"] == 0
    assert body["storage_percentage"] == 0.0
    assert body["files"] == []


def test_status_lists_only_the_callers_files(client, auth):
    upload(client, auth("alice", username="al"), make_video_of_size(10_485_760), "video.mp4")
    upload(client, auth("bob"), make_video_of_size(1000), "bob.mp4")
    body = client.get("/storage-status", headers=auth("alice", username="al")).get_json()
    assert body["used_storage"] == 10_485_760
    assert body["storage_percentage"] == 20.0
    assert body["bandwidth_used_today"] == 10_485_760
    assert [(f["filename"], f["name"], f["size"]) for f in body["files"]] == [
        ("al/video.mp4", "video.mp4", 10_485_760)
    ]


def test_status_without_token_is_401(client):
    response = client.get("/storage-status")
    assert response.status_code == 401
    assert response.get_json() == {"error": "Unauthorized"}
