"""POST /events/pubsub/<topic>: Pub/Sub push deliveries to our event handlers."""

from __future__ import annotations

from flask import Response, request
from flask_smorest import Blueprint

from blueprints._http.context import services
from blueprints._http.schemas import ErrorRead

blp = Blueprint("events", __name__, description="Pub/Sub push endpoints")

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
@blp.alt_response(400, schema=ErrorRead)
@blp.alt_response(401, schema=ErrorRead)
@blp.alt_response(404, schema=ErrorRead)
@blp.alt_response(503, schema=ErrorRead)
def receive_push(topic: str):
    """Verify the push's OIDC token and hand the message to the topic's handler."""
    services().push_verifier.verify(request.headers.get("Authorization"))
    services().events.receive_push(topic, request.get_json(silent=True))
    return Response(status=204)
