"""POST /events/pubsub/<topic>: Pub/Sub push deliveries to our event handlers."""

from __future__ import annotations

from flask import Response, request

from blueprints._http.api import Blueprint, read_json_body
from blueprints._http.context import services
from services.core.errors import InvalidRequest

blp = Blueprint("events", __name__, description="Pub/Sub push endpoints")

# Pub/Sub's own limit on a message; a larger push cannot come from Pub/Sub.
PUSH_MAX_BYTES = 10 * 1000 * 1000

ENVELOPE = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "message": {
                        "type": "object",
                        "properties": {
                            "data": {"type": "string", "format": "byte"},
                            "attributes": {"type": "object"},
                            "messageId": {"type": "string"},
                        },
                    },
                    "subscription": {"type": "string"},
                },
            }
        }
    },
}


@blp.route("/events/pubsub/<topic>", methods=["POST"])
@blp.doc(requestBody=ENVELOPE, responses={"204": {"description": "Handled or already handled"}})
@blp.errors(400, 401, 404, 413, 503)
def receive_push(topic: str):
    """Verify the push's OIDC token and hand the message to the topic's handler."""
    services().push_verifier.verify(request.headers.get("Authorization"))
    try:
        envelope = read_json_body(request, PUSH_MAX_BYTES)
    except ValueError as error:
        raise InvalidRequest("Push body is not a JSON envelope") from error
    services().events.receive_push(topic, envelope)
    return Response(status=204)
