"""Every time-dependent path runs on the injected clock: the suite passes on any date."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from services.screenshots.events import SCREENSHOTS_REQUESTED
from tests.helpers import upload
from tests.media import make_video_of_size

DATES = [
    pytest.param(datetime(2001, 3, 4, 5, 6, tzinfo=UTC), id="years-behind"),
    pytest.param(datetime(2099, 9, 8, 7, 6, tzinfo=UTC), id="years-ahead"),
]


@pytest.mark.parametrize("moment", DATES)
def test_video_upload_stream_sign_and_delete_on_any_date(client, auth, clock, moment):
    clock.set(moment)
    video = make_video_of_size(50_000)
    headers = auth("alice")

    assert upload(client, headers, video, "clip.mp4").status_code == 200
    ranged = client.get("/stream/video/clip.mp4", headers={**headers, "Range": "bytes=0-99"})
    assert (ranged.status_code, ranged.data) == (206, video[:100])
    signed = client.get("/stream/direct/clip.mp4", headers=headers).get_json()["url"]
    assert client.get(signed).data == video
    assert (
        client.delete("/delete-file", json={"filename": "clip.mp4"}, headers=headers).status_code
        == 200
    )


@pytest.mark.parametrize("moment", DATES)
def test_tokens_expire_by_the_service_clock(client, auth, clock, moment):
    clock.set(moment)
    headers = auth("alice", hours=1)
    assert client.get("/storage-status", headers=headers).status_code == 200
    clock.advance(minutes=59)
    assert client.get("/storage-status", headers=headers).status_code == 200
    clock.advance(minutes=2)
    assert client.get("/storage-status", headers=headers).status_code == 401


@pytest.mark.parametrize("moment", DATES)
def test_push_dedupe_remembers_for_its_window_on_any_date(app, client, clock, moment):
    clock.set(moment)
    seen: list[dict] = []
    app.extensions["mediastore"].events.router.register(SCREENSHOTS_REQUESTED, seen.append)
    envelope = {
        "message": {
            "data": base64.b64encode(json.dumps({"n": 1}).encode()).decode(),
            "messageId": "m-1",
        }
    }

    def push():
        return client.post(f"/events/pubsub/{SCREENSHOTS_REQUESTED}", json=envelope)

    inbox = app.extensions["mediastore"].events.router.inbox
    assert [push().status_code, push().status_code] == [204, 204]
    clock.advance(hours=71)
    assert inbox.purge_expired() == 0
    assert push().status_code == 204 and len(seen) == 1  # still within the 72 h window
    clock.advance(hours=2)
    assert inbox.purge_expired() == 1
    assert push().status_code == 204 and len(seen) == 2  # forgotten: handled again
