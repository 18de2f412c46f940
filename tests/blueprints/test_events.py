"""POST /events/pubsub/<topic>: OIDC-verified push deliveries, answered as Pub/Sub expects."""

from __future__ import annotations

import base64
import json

import pytest

from services.core.errors import InvalidRequest
from services.screenshots.events import SCREENSHOTS_REQUESTED
from tests.fixtures.oidc import oidc  # noqa: F401

AUDIENCE = "https://mediastore.example.com/events"
PUSHER = "pubsub-push@project.iam.gserviceaccount.com"
TOPIC = "/events/pubsub/media.screenshots.requested"


def envelope(data, message_id="m-1", **attributes):
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return {
        "message": {
            "data": base64.b64encode(raw).decode(),
            "messageId": message_id,
            "attributes": attributes,
        },
        "subscription": "projects/p/subscriptions/s",
    }


@pytest.fixture
def received(app):
    """Replace the topic's handler with one that records what it is given."""
    seen = []
    app.extensions["mediastore"].events.router.register(SCREENSHOTS_REQUESTED, seen.append)
    return seen


@pytest.fixture
def verified_app(make_app, oidc):  # noqa: F811
    app = make_app(
        PUBSUB_VERIFY_PUSH=True,
        PUBSUB_PUSH_AUDIENCE=AUDIENCE,
        PUBSUB_PUSH_SERVICE_ACCOUNT=PUSHER,
        PUBSUB_PUSH_CERTS_URL=oidc.certs_url,
    )
    seen = []
    app.extensions["mediastore"].events.router.register(SCREENSHOTS_REQUESTED, seen.append)
    app.seen = seen
    return app


def test_push_is_handled_once_and_answered_204(client, received):
    assert client.post(TOPIC, json=envelope({"catalog_id": "c1"})).status_code == 204
    assert client.post(TOPIC, json=envelope({"catalog_id": "c1"})).status_code == 204
    assert received == [{"catalog_id": "c1"}]


def test_republished_event_is_recognised_by_its_event_id(client, received):
    client.post(TOPIC, json=envelope({"n": 1}, "m-1", event_id="e-1"))
    client.post(TOPIC, json=envelope({"n": 1}, "m-2", event_id="e-1"))
    assert received == [{"n": 1}]


@pytest.mark.parametrize(
    "body",
    [
        None,
        {},
        {"message": "x"},
        {"message": {"data": "!!!", "messageId": "1"}},
        envelope(b"not json"),
        envelope(["a", "list"]),
        {"message": {"data": ""}},
    ],
    ids=["no-json", "empty", "message-not-object", "bad-base64", "not-json", "not-object", "no-id"],
)
def test_envelopes_that_can_never_succeed_are_400(client, received, body):
    response = (
        client.post(TOPIC, json=body)
        if body is not None
        else client.post(TOPIC, data="x", content_type="text/plain")
    )
    assert response.status_code == 400
    assert response.is_json and "error" in response.get_json()
    assert received == []


def test_unknown_topic_is_404(client):
    response = client.post("/events/pubsub/no.such.topic", json=envelope({}))
    assert response.status_code == 404 and response.is_json


def test_transient_handler_failure_is_5xx_and_redelivery_succeeds(app, client):
    calls = []

    def flaky(data):
        calls.append(data)
        if len(calls) == 1:
            raise ConnectionError("registry hiccup")

    app.extensions["mediastore"].events.router.register(SCREENSHOTS_REQUESTED, flaky)
    assert client.post(TOPIC, json=envelope({"n": 1})).status_code == 503
    assert client.post(TOPIC, json=envelope({"n": 1})).status_code == 204
    assert len(calls) == 2


def test_poison_push_answers_503_until_the_maximum_then_204_and_is_dead_lettered(make_app):
    app = make_app(EVENT_MAX_ATTEMPTS=4)
    events = app.extensions["mediastore"].events
    calls = []

    def poison(data):
        calls.append(data)
        raise ValueError("cannot handle this one")

    events.router.register(SCREENSHOTS_REQUESTED, poison)
    client = app.test_client()
    statuses = [
        client.post(TOPIC, json=envelope({"n": 1}, "m-9", event_id="e-9")).status_code
        for _ in range(5)
    ]
    assert statuses == [503, 503, 503, 204, 204]  # the last is a late redelivery: acked
    assert len(calls) == 4
    [letter] = events.dead_letters()
    assert (letter.source, letter.key, letter.event_type) == ("inbox", "e-9", SCREENSHOTS_REQUESTED)
    assert (letter.attempts, letter.data) == (4, {"n": 1})
    assert "ValueError: cannot handle this one" in letter.last_error


def test_push_the_handler_refuses_is_not_run_again(client, app):
    calls = []

    def refuse(data):
        calls.append(data)
        raise InvalidRequest("catalog_id is required")

    app.extensions["mediastore"].events.router.register(SCREENSHOTS_REQUESTED, refuse)
    assert client.post(TOPIC, json=envelope({"n": 1})).status_code == 400
    assert client.post(TOPIC, json=envelope({"n": 1})).status_code == 204  # redelivery: acked
    assert len(calls) == 1


def test_verified_push_with_valid_token_is_accepted(verified_app, oidc):  # noqa: F811
    token = oidc.token(audience=AUDIENCE, email=PUSHER)
    response = verified_app.test_client().post(
        TOPIC, json=envelope({"n": 1}), headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 204
    assert verified_app.seen == [{"n": 1}]


@pytest.mark.parametrize(
    "case", ["missing", "wrong-audience", "wrong-sender", "expired", "unpublished-key"]
)
def test_verified_push_refuses_bad_tokens(verified_app, oidc, case):  # noqa: F811
    tokens = {
        "missing": None,
        "wrong-audience": oidc.token(audience="https://elsewhere", email=PUSHER),
        "wrong-sender": oidc.token(audience=AUDIENCE, email="someone@else.com"),
        "expired": oidc.token(audience=AUDIENCE, email=PUSHER, expires_in=-60),
        "unpublished-key": oidc.other_key_token(audience=AUDIENCE, email=PUSHER),
    }
    headers = {"Authorization": f"Bearer {tokens[case]}"} if tokens[case] else {}
    response = verified_app.test_client().post(TOPIC, json=envelope({"n": 1}), headers=headers)
    assert response.status_code == 401
    assert response.get_json() == {"error": "Unauthorized"}
    assert verified_app.seen == []
