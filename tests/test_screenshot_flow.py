"""The screenshot flow end to end, over real HTTP, on the in-process bus and on Pub/Sub."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
import requests

from services.screenshots.events import SCREENSHOTS_COMPLETED
from tests.fixtures.live import serve
from tests.fixtures.pubsub_emulator import pubsub_emulator  # noqa: F401
from tests.media import make_image

CATALOG, REQUEST = "cat-1", "req-1"
BOUNDARY = "screenshotboundary"


def _multipart(*images: tuple[str, bytes]) -> bytes:
    body = b""
    for name, data in images:
        body += (
            (
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; '
                f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
            ).encode()
            + data
            + b"\r\n"
        )
    return body + f"--{BOUNDARY}--\r\n".encode()


def _peer_upload(base: str, token: str):
    return requests.post(
        f"{base}/api/screenshot/{CATALOG}",
        data=_multipart(("a.png", make_image("png")), ("b.jpg", make_image("jpeg"))),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        },
        timeout=10,
    )


@pytest.fixture
def peer_world(httpserver):
    """The peer registry and the edge service, as one local HTTP server."""
    httpserver.expect_request(f"/api/peers/catalog/{CATALOG}").respond_with_json(
        [{"peer_id": "peer-1", "edge_id": "edge-1", "catalog_ids": [CATALOG]}]
    )
    httpserver.expect_request(
        "/api/edge/edge-1/screenshot/request", method="POST"
    ).respond_with_data("", status=202)
    return httpserver


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _edge_requests(httpserver) -> list[dict]:
    return [
        json.loads(request.data)
        for request, _ in httpserver.log
        if request.path.startswith("/api/edge/")
    ]


def _push(client, topic: str, data: dict, message_id: str):
    envelope = {
        "message": {
            "data": base64.b64encode(json.dumps(data).encode()).decode(),
            "messageId": message_id,
            "attributes": {},
        }
    }
    return client.post(f"/events/pubsub/{topic}", json=envelope)


def _run_flow(app, peer_world, requested):
    """Request, edge call, peer upload, fetch, reuse: what a new user would try."""
    requested()
    [edge_call] = _edge_requests(peer_world)
    assert edge_call["peer_id"] == "peer-1" and edge_call["catalog_id"] == CATALOG
    assert edge_call["screenshot_upload_url"] == f"/api/screenshot/{CATALOG}"
    with serve(app) as base:
        response = _peer_upload(base, edge_call["token"])
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "success" and body["catalog_id"] == CATALOG
        assert body["message"] == "Screenshots uploaded successfully"
        fetched = [requests.get(url, timeout=10) for url in body["screenshot_urls"]]
        assert [f.status_code for f in fetched] == [200, 200]
        assert fetched[0].content == make_image("png")
        again = _peer_upload(base, edge_call["token"])
        assert again.status_code == 403
        assert again.json() == {"detail": "Token has already been used"}
    return body


# Far from any real date, both ways: nothing may read the wall clock behind the clock's back.
DATES = [
    pytest.param(datetime(2001, 3, 4, 5, 6, tzinfo=UTC), id="years-behind"),
    pytest.param(None, id="test-clock"),
    pytest.param(datetime(2099, 9, 8, 7, 6, tzinfo=UTC), id="years-ahead"),
]


@pytest.mark.parametrize("moment", DATES)
def test_flow_on_the_in_process_bus(make_app, peer_world, database, clock, moment):
    if moment is not None:
        clock.set(moment)
    app = make_app(
        PEER_REGISTRY_URL=peer_world.url_for(""), EDGE_SERVICE_URL=peer_world.url_for("")
    )
    runner = app.test_cli_runner()

    def requested():
        data = json.dumps(
            {"catalog_id": CATALOG, "request_id": REQUEST, "requester_service": "catalog"}
        )
        result = runner.invoke(args=["events", "publish", "media.screenshots.requested", data])
        assert result.exit_code == 0 and "delivered" in result.output

    _run_flow(app, peer_world, requested)
    app.extensions["mediastore"].events.relay.run_once()
    completed = list(database["outbox"].find({"type": SCREENSHOTS_COMPLETED}))
    assert len(completed) == 1
    assert completed[0]["data"]["request_id"] == REQUEST
    assert completed[0]["data"]["status"] == "completed"
    assert completed[0]["state"] == "delivered"


def test_flow_on_pubsub_publishes_one_completed_event(make_app, peer_world, pubsub_emulator):  # noqa: F811
    app = make_app(
        EVENT_BUS="pubsub",
        PUBSUB_EMULATOR_HOST=pubsub_emulator.host,
        GCP_PROJECT=pubsub_emulator.project,
        PEER_REGISTRY_URL=peer_world.url_for(""),
        EDGE_SERVICE_URL=peer_world.url_for(""),
    )
    client = app.test_client()

    def requested():
        data = {"catalog_id": CATALOG, "request_id": REQUEST, "requester_service": "catalog"}
        assert _push(client, "media.screenshots.requested", data, "m-1").status_code == 204

    body = _run_flow(app, peer_world, requested)
    relay = app.extensions["mediastore"].events.relay
    relay.run_once()
    relay.run_once()
    [message] = pubsub_emulator.messages(SCREENSHOTS_COMPLETED)
    event = json.loads(message.data)
    assert {k: event[k] for k in ("catalog_id", "request_id", "status")} == {
        "catalog_id": CATALOG,
        "request_id": REQUEST,
        "status": "completed",
    }
    # Same signed objects; the event's URLs use PUBLIC_BASE_URL, not the test server's port.
    assert [_path(u) for u in event["screenshot_urls"]] == [
        _path(u) for u in body["screenshot_urls"]
    ]
    assert message.attributes["event_type"] == SCREENSHOTS_COMPLETED
    assert message.attributes["event_id"] == f"screenshots.completed:{REQUEST}"


def test_events_wait_out_a_pubsub_outage_and_arrive_once(make_app, pubsub_emulator, clock):  # noqa: F811
    app = make_app(
        EVENT_BUS="pubsub",
        PUBSUB_EMULATOR_HOST=pubsub_emulator.host,
        GCP_PROJECT=pubsub_emulator.project,
    )
    bus = app.extensions["mediastore"].events
    bus.publisher.timeout = 2
    pubsub_emulator.stop()
    ids = [bus.publish(SCREENSHOTS_COMPLETED, {"n": n}) for n in range(3)]
    assert bus.relay.run_once() == 0
    assert bus.outbox.pending_count() == 3
    pubsub_emulator.restart()
    clock.advance(seconds=10)
    assert bus.relay.run_once() == 3
    assert bus.relay.run_once() == 0
    messages = pubsub_emulator.messages(SCREENSHOTS_COMPLETED)
    assert sorted(m.attributes["event_id"] for m in messages) == sorted(ids)
    assert [json.loads(m.data)["n"] for m in messages] == [0, 1, 2]
