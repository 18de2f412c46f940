"""The push endpoint refuses what Pub/Sub could never send: oversized or absurdly nested bodies."""

from __future__ import annotations

import base64
import io
import json

from services.screenshots.events import SCREENSHOTS_REQUESTED

PATH = f"/events/pubsub/{SCREENSHOTS_REQUESTED}"


class CountingStream(io.BytesIO):
    """A request body that remembers how much of it was read."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.consumed = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.consumed += len(chunk)
        return chunk


def test_a_body_over_pubsubs_limit_is_413_before_it_is_read(client):
    body = CountingStream(b"{" + b" " * (20 * 1000 * 1000) + b"}")
    response = client.post(
        PATH,
        input_stream=body,
        headers={"Content-Type": "application/json", "Content-Length": str(len(body.getvalue()))},
    )
    assert response.status_code == 413
    assert response.is_json
    assert body.consumed == 0


def test_a_deeply_nested_envelope_is_400(client):
    response = client.post(
        PATH, data="[" * 100_000 + "]" * 100_000, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.get_json() == {"error": "Push body is not a JSON envelope"}


def test_a_well_formed_push_still_works(app, client):
    seen: list[dict] = []
    app.extensions["mediastore"].events.router.register(SCREENSHOTS_REQUESTED, seen.append)
    data = base64.b64encode(json.dumps({"catalog_id": "c"}).encode()).decode()
    envelope = {"message": {"data": data, "messageId": "1"}}
    assert client.post(PATH, json=envelope).status_code == 204
    assert seen == [{"catalog_id": "c"}]


def test_deeply_nested_event_data_is_400_not_a_crash(client):
    data = base64.b64encode(("[" * 100_000 + "]" * 100_000).encode()).decode()
    response = client.post(PATH, json={"message": {"data": data, "messageId": "deep"}})
    assert response.status_code == 400
    assert response.get_json() == {"error": "Push message data is not base64-encoded JSON"}


def test_event_data_nested_past_the_limit_is_400(client):
    nested: object = {}
    for _ in range(40):
        nested = {"a": nested}
    data = base64.b64encode(json.dumps(nested).encode()).decode()
    response = client.post(PATH, json={"message": {"data": data, "messageId": "d40"}})
    assert response.status_code == 400
    assert response.get_json() == {"error": "Event data is nested too deeply"}
