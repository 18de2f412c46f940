"""Landing a stored object as a library video: free names, once per landing id."""

from __future__ import annotations

import pytest

from services.core.names import MAX_NAME_BYTES, check_filename
from services.core.usage import UsageLog
from services.core.users import User
from services.storage.objects import ObjectInfo
from services.videos.landing import VideoLanding, free_names, split_extension

ALICE = User("alice", "alice", "alice@example.com")


@pytest.fixture
def landing(database, clock) -> VideoLanding:
    files = database["files"]
    files.create_index([("owner", 1), ("filename", 1)], unique=True, name="owner_filename")
    return VideoLanding(files=files, usage=UsageLog(database["usage"]), clock=clock)


def info(name: str = "videos/o/1", size: int = 1000) -> ObjectInfo:
    return ObjectInfo(name, size, "video/webm", "7")


@pytest.mark.parametrize(
    ("name", "second", "third"),
    [
        ("recording.webm", "recording (2).webm", "recording (3).webm"),
        ("archive.tar.gz", "archive.tar (2).gz", "archive.tar (3).gz"),
        ("no extension", "no extension (2)", "no extension (3)"),
        (".hidden", ".hidden (2)", ".hidden (3)"),
        ("trailing.", "trailing. (2)", "trailing. (3)"),
    ],
)
def test_free_names_put_the_suffix_before_the_extension(name, second, third):
    names = free_names(name)

    assert [next(names), next(names), next(names)] == [name, second, third]
    assert split_extension(name)[0] + split_extension(name)[1] == name


def test_a_long_name_loses_stem_characters_never_its_extension():
    name = "é" * 125 + ".webm"  # 255 bytes
    names = list(free_names(name, limit=12))

    assert all(len(n.encode()) <= MAX_NAME_BYTES and n.endswith(".webm") for n in names)
    assert names[-1].endswith(" (12).webm") and all(check_filename(n) == n for n in names)
    assert len(set(names)) == 12


def test_land_records_a_stored_video_under_the_first_free_name(landing, database):
    first = landing.land(ALICE, "take.webm", info("videos/o/1"), landing_id="s1")
    second = landing.land(ALICE, "take.webm", info("videos/o/2"), landing_id="s2")
    other_owner = landing.land(User("bob", "bob"), "take.webm", info("videos/o/3"), "s3")

    assert (first.filename, second.filename, other_owner.filename) == (
        "take.webm",
        "take (2).webm",
        "take.webm",
    )
    doc = database["files"].find_one({"_id": "s2"})
    assert (doc["state"], doc["object_name"], doc["size"]) == ("stored", "videos/o/2", 1000)
    assert (doc["content_type"], doc["generation"]) == ("video/webm", "7")


def test_landing_again_returns_the_first_answer_and_writes_nothing(landing, database):
    first = landing.land(ALICE, "take.webm", info(), landing_id="s1")

    again = landing.land(ALICE, "take.webm", info(size=5), landing_id="s1")

    assert again == first
    assert database["files"].count_documents({}) == 1
    day = database["usage"].find_one({})
    assert (day["upload_count"], day["upload_volume"]) == (1, 1000)


def test_a_name_taken_by_an_upload_in_progress_is_not_free(landing, database, clock):
    database["files"].insert_one(
        {"_id": "busy", "owner": "alice", "filename": "take.webm", "state": "uploading"}
    )

    assert landing.land(ALICE, "take.webm", info(), landing_id="s1").filename == "take (2).webm"
