"""The statuses every operation documents, in the error shape of its API, declared once.

Views name the statuses that are theirs (`@blp.errors(403, 404, 409)`); the ones that follow
from how an operation is built are added here to every operation of a blueprint:

- a token in `security` (required or optional: a token that is sent must be valid): 401;
- `@blp.arguments`: the API's validation status (400 or 422);
- a request body: 408 (a body that stops arriving) and 413 (a body over the limit), from
  app/http_guard.py and werkzeug;
- an operation that reads the document or object store: 503 while either is down.

flask-smorest would document validation errors and a `default` response in its own error
shape, which none of our APIs answers in: those are replaced, so that a status the
document does not list is a defect the fuzz run (tests/fuzz/) can find.
"""

from __future__ import annotations

import http
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from blueprints._http.schemas import DetailRead, ErrorRead, ValidationDetailRead

if TYPE_CHECKING:
    from marshmallow import Schema

    from blueprints._http.api import ErrorStyle

# Statuses a body can meet before any view code runs (app/http_guard.py, werkzeug).
BODY_STATUSES = (408, 413)
DEPENDENCY_DOWN = 503


def error_schema(style: ErrorStyle, status: int) -> type[Schema]:
    """The schema of an error of this status in this API's shape."""
    if style.key == "error":
        return ErrorRead
    if status == style.validation_status and style.validation_status == 422:
        return ValidationDetailRead
    return DetailRead


def error_response(style: ErrorStyle, status: int) -> dict[str, Any]:
    """The OpenAPI response of one error status (schema resolved later by apispec)."""
    return {
        "description": http.HTTPStatus(status).phrase,
        "content": {"application/json": {"schema": error_schema(style, status)}},
    }


def implied_statuses(
    operation: dict[str, Any], *, style: ErrorStyle, validates: bool, uses_storage: bool
) -> list[int]:
    """The error statuses that follow from how the operation is built."""
    statuses = []
    if operation.get("security"):  # even where a token is optional, a bad one is refused
        statuses.append(401)
    if validates:
        statuses.append(style.validation_status)
    if "requestBody" in operation:
        statuses.extend(BODY_STATUSES)
    if uses_storage:
        statuses.append(DEPENDENCY_DOWN)
    return statuses


def error_doc_callback(style: ErrorStyle, *, uses_storage: bool) -> Callable[..., dict]:
    """A flask-smorest doc callback that completes an operation's error responses."""

    def complete(doc: dict[str, Any], doc_info: dict[str, Any], **_: Any) -> dict[str, Any]:
        responses = {
            str(status): response
            for status, response in doc.get("responses", {}).items()
            # A bare name is one of flask-smorest's own responses (its error shape).
            if not isinstance(response, str)
        }
        # `@blp.doc(...)` (security, a hand-written requestBody) is merged in after us.
        built = {**doc, **doc_info.get("manual_doc", {})}
        validates = "arguments" in doc_info
        for status in implied_statuses(
            built, style=style, validates=validates, uses_storage=uses_storage
        ):
            responses.setdefault(str(status), error_response(style, status))
        doc["responses"] = responses
        return doc

    return complete


def download_responses(body: str) -> dict[str, dict[str, str]]:
    """The success answers of a download served by send_object (blueprints/_http/streaming.py)."""
    return {
        "200": {"description": body},
        "206": {"description": "A byte range (Range, If-Range)"},
        "304": {"description": "Not modified: the If-None-Match ETag is current"},
    }


def thumbnail_responses() -> dict[str, dict[str, str]]:
    """The success answers of a thumbnail or poster frame, served by send_object too."""
    return download_responses("A JPEG, at most 320 pixels on its longer side")
