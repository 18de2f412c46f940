"""`flask fsck`: a clean store reports clean, exit 0, in text and JSON."""

from __future__ import annotations

from tests.fixtures.audit import assert_fsck_clean, run_fsck
from tests.helpers import upload
from tests.media import make_video_of_size


def test_fresh_store_is_clean(app):
    report = assert_fsck_clean(app)
    assert report["problems"] == [] and report["counts"] == {}


def test_store_with_a_video_is_clean(app, client, auth):
    assert upload(client, auth(), make_video_of_size(4000), "a.mp4").status_code == 200
    report = assert_fsck_clean(app)
    assert report["checked"]["accounts"] == 1 and report["checked"]["objects"] == 1


def test_text_report_says_no_problems(app, runner):
    result = runner.invoke(args=["fsck"])
    assert result.exit_code == 0
    assert "no problems found" in result.output


def test_repair_on_a_clean_store_changes_nothing(app, client, auth, database):
    upload(client, auth(), make_video_of_size(4000), "a.mp4")
    code, report = run_fsck(app, "--repair")
    assert code == 0 and report["remaining"] == []
    assert database["accounts"].find_one({"_id": "alice"})["used_bytes"] == 4000
