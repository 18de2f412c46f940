"""GET /storage-status: the seed's shape for new and active users."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.core.claims import STORED
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


def _library(database, owner: str, count: int, *, size: int = 1000) -> list[str]:
    """Store `count` files for `owner` straight into the metadata (plus the account's bytes)."""
    names = [f"clip-{n:04d}.mp4" for n in range(count)]
    uploaded = datetime(2026, 1, 1, tzinfo=UTC)
    database["files"].insert_many(
        {
            "_id": f"{owner}-{name}",
            "owner": owner,
            "filename": name,
            "state": STORED,
            "size": size,
            "content_type": "video/mp4",
            "generation": "1",
            "object_name": f"videos/{owner}/{n}",
            "uploaded_at": uploaded,
        }
        for n, name in enumerate(reversed(names))  # stored out of order: the listing sorts
    )
    database["accounts"].update_one(
        {"_id": owner}, {"$inc": {"used_bytes": size * count}}, upsert=True
    )
    return names


def test_a_library_over_the_default_limit_lists_its_first_names_and_says_more_follow(
    client, auth, database
):
    names = _library(database, "alice", 150, size=1000)
    body = client.get("/storage-status", headers=auth("alice")).get_json()
    assert [f["name"] for f in body["files"]] == names[:100]
    assert body["files_truncated"] is True
    assert body["files_next"] == names[99]
    assert body["used_storage"] == 150 * 1000  # every file, not only those listed


def test_files_after_continues_where_the_last_page_stopped(client, auth, database):
    names = _library(database, "alice", 150)
    first = client.get("/storage-status?files_limit=60", headers=auth("alice")).get_json()
    seen = [f["name"] for f in first["files"]]
    cursor = first["files_next"]
    while cursor is not None:
        page = client.get(
            "/storage-status",
            query_string={"files_limit": 60, "files_after": cursor},
            headers=auth("alice"),
        ).get_json()
        seen += [f["name"] for f in page["files"]]
        cursor = page["files_next"]
        assert page["files_truncated"] is (cursor is not None)
    assert seen == names


def test_a_small_library_keeps_the_seed_shape_with_every_file(client, auth, database):
    names = _library(database, "alice", 3)
    _library(database, "bob", 5)
    body = client.get("/storage-status", headers=auth("alice")).get_json()
    assert [f["name"] for f in body["files"]] == names
    assert body["files"][0]["filename"] == "alice/clip-0000.mp4"
    assert body["files_truncated"] is False and body["files_next"] is None


def test_files_limit_up_to_the_cap_is_served(client, auth, database):
    names = _library(database, "alice", 1001)
    body = client.get("/storage-status?files_limit=1000", headers=auth("alice")).get_json()
    assert len(body["files"]) == 1000 and body["files_next"] == names[999]
    single = client.get("/storage-status?files_limit=1", headers=auth("alice")).get_json()
    assert [f["name"] for f in single["files"]] == names[:1]


@pytest.mark.parametrize(
    "query", ["files_limit=0", "files_limit=1001", "files_limit=many", "files_after="]
)
def test_files_limit_and_files_after_out_of_bounds_are_400(client, auth, query):
    response = client.get(f"/storage-status?{query}", headers=auth("alice"))
    assert response.status_code == 400
    assert set(response.get_json()) == {"error"}


def _schema_dump(status) -> dict:
    """What the view answered before it built its body itself: StatusRead().dump()."""
    from blueprints._http.schemas import StatusRead
    from services.core.accounts import StoredTotals
    from services.media.records import COLLECTION as MEDIA

    media = status.stored.get(MEDIA, StoredTotals(0, 0))
    return StatusRead().dump(
        {
            "total_storage": status.usage.quota_bytes,
            "used_storage": status.usage.used_bytes,
            "storage_percentage": status.usage.storage_percentage,
            "bandwidth_used_today": status.usage.bandwidth_used,
            "bandwidth_limit": status.usage.bandwidth_limit,
            "files": status.files,
            "files_truncated": status.files_next is not None,
            "files_next": status.files_next,
            "media_bytes": media.bytes,
            "media_count": media.count,
        }
    )


@pytest.mark.parametrize("files_next", [None, "clip-0001.mp4"])
def test_the_status_body_is_what_its_documented_schema_dumps(files_next):
    from datetime import timedelta, timezone

    from blueprints.videos.status import status_body
    from services.core.accounts import AccountUsage, StoredTotals
    from services.media.records import COLLECTION as MEDIA
    from services.videos.library import StorageStatus

    files = [
        {
            "filename": "al/clip-0000.mp4",
            "name": "clip-0000.mp4",
            "size": 10_485_760,
            "content_type": "video/mp4",
            "uploaded_at": datetime(2026, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC),
        },
        {
            "filename": "al/clip-0001.mp4",
            "name": "clip-0001.mp4",
            "size": 0,
            "content_type": "video/webm",
            "uploaded_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))),
        },
    ]
    status = StorageStatus(
        AccountUsage(
            used_bytes=10_485_770, quota_bytes=52_428_800, bandwidth_used=7, bandwidth_limit=9
        ),
        files,
        {MEDIA: StoredTotals(bytes=10, count=1)},
        files_next,
    )
    body = status_body(status)
    assert body == _schema_dump(status)
    assert type(body["storage_percentage"]) is float


def test_the_answer_is_the_schema_dump_of_the_stored_status(app, client, auth, database):
    _library(database, "alice", 3)
    answered = client.get("/storage-status?files_limit=2", headers=auth("alice", username="al"))
    with app.test_request_context():
        from services.core.users import User

        user = User.from_claims({"sub": "alice", "username": "al"})
        status = app.extensions["mediastore"].videos.library.status(user, limit=2)
    assert answered.get_json() == _schema_dump(status)
    assert answered.get_json()["files_truncated"] is True
