"""The embedded default (litemongo + local directory) keeps files and usage across restarts."""

from __future__ import annotations

from app import create_app
from blueprints._http.tokens import mint_token
from tests.helpers import upload
from tests.media import make_video_of_size


def _app(data_dir):
    return create_app({"APP_ENV": "development", "DATA_DIR": str(data_dir)})


def test_restart_keeps_files_usage_and_tokens(tmp_path):
    data = make_video_of_size(100_000)
    first = _app(tmp_path / "var")
    with first.app_context():
        token = mint_token("alice")
    headers = {"Authorization": f"Bearer {token}"}
    client = first.test_client()
    assert upload(client, headers, data, "keep.mp4").status_code == 200
    assert upload(client, headers, make_video_of_size(5000), "gone.mp4").status_code == 200
    assert (
        client.delete("/delete-file", json={"filename": "gone.mp4"}, headers=headers).status_code
        == 200
    )
    first.extensions["mediastore"].close()

    second = _app(tmp_path / "var")
    client = second.test_client()
    try:
        status = client.get("/storage-status", headers=headers).get_json()
        assert status["used_storage"] == 100_000
        assert status["bandwidth_used_today"] == 105_000
        assert [f["name"] for f in status["files"]] == ["keep.mp4"]
        response = client.get("/stream/video/keep.mp4", headers={**headers, "Range": "bytes=10-19"})
        assert response.status_code == 206 and response.data == data[10:20]
        assert upload(client, headers, data, "keep.mp4").status_code == 409
    finally:
        second.extensions["mediastore"].close()
