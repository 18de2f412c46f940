"""Every error becomes JSON in the shape of the API that served the request; never HTML."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from flask import Flask, Response, current_app, jsonify, request
from pymongo.errors import DuplicateKeyError, PyMongoError
from werkzeug.exceptions import HTTPException

from blueprints._http.api import DEFAULT_STYLE, Blueprint, ErrorStyle
from services.core import errors
from services.events.base import EventBusUnavailable, EventRejected

log = logging.getLogger("mediastore.errors")

STYLES_KEY = "mediastore.error_styles"

STATUS = {
    errors.InvalidRequest: 400,
    errors.Unprocessable: 422,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.ObjectMissing: 404,
    errors.LeaseExpired: 408,
    errors.Conflict: 409,
    errors.PayloadTooLarge: 413,
    errors.UnsupportedMediaType: 415,
    errors.RangeNotSatisfiable: 416,
    errors.StorageUnavailable: 503,
    EventBusUnavailable: 503,
    EventRejected: 503,  # a push that failed this time: Pub/Sub redelivers it
}

HTTP_MESSAGES = {
    400: "Bad request",
    401: "Unauthorized",
    404: "Not found",
    405: "Method not allowed",
    408: "Request body timed out",
    413: "Upload exceeds the maximum allowed size",
    415: "Unsupported media type",
    429: "Too many requests; retry after the seconds in Retry-After",
}
METADATA_DOWN = "Metadata store is temporarily unavailable"


def status_of(error: errors.MediastoreError) -> int:
    """The HTTP status for a domain error: the nearest mapped ancestor's, else 500."""
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def register_error_styles(app: Flask, blueprints: Iterable[Blueprint]) -> None:
    """Remember each blueprint's error shape; requests it serves are answered in it."""
    styles = app.extensions.setdefault(STYLES_KEY, {})
    for blueprint in blueprints:
        styles[blueprint.name] = blueprint.error_style


def request_style() -> ErrorStyle:
    """The error shape of the blueprint serving this request (seed 003's outside any)."""
    styles: Mapping[str, ErrorStyle] = current_app.extensions.get(STYLES_KEY, {})
    return styles.get(request.blueprint or "", DEFAULT_STYLE)


def error_response(status: int, message: str) -> Response:
    """A JSON error in the request's API shape."""
    response = jsonify(request_style().body(message))
    response.status_code = status
    return response


def unauthorized_response(message: str) -> Response:
    """A 401 in the request's API shape, with the API's WWW-Authenticate challenge if any."""
    response = error_response(401, message)
    challenge = request_style().challenge
    if challenge:
        response.headers["WWW-Authenticate"] = challenge
    return response


def register_error_handlers(app: Flask) -> None:
    """Map domain errors, HTTP errors, validation errors, outages and crashes to JSON."""

    @app.errorhandler(errors.MediastoreError)
    def domain_error(error: errors.MediastoreError):
        status = status_of(error)
        message = error.message
        if status == 503:
            # Outage details name objects, paths and backend replies: for the log only.
            cause = error.__cause__
            log.warning("dependency unavailable: %s", f"{message} ({cause})" if cause else message)
            message = type(error).default_message
        if status == 401:
            return unauthorized_response(message)
        response = error_response(status, message)
        if isinstance(error, errors.RangeNotSatisfiable):
            response.headers["Content-Range"] = f"bytes */{error.size}"
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        messages = getattr(error, "data", {}).get("messages")
        if messages:  # webargs validation, answered in the API's own shape
            style = request_style()
            return jsonify(style.validation_body(messages)), style.validation_status
        response = error_response(error.code or 500, HTTP_MESSAGES.get(error.code, error.name))
        if error.code == 405 and getattr(error, "valid_methods", None):
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    @app.errorhandler(PyMongoError)
    def metadata_down(error: PyMongoError):
        if isinstance(error, DuplicateKeyError):  # a uniqueness the code did not handle: a bug
            return crash(error)
        # Any other failure of the document store is an outage to the caller: retry later.
        log.warning("metadata store unavailable: %s", error)
        return error_response(503, METADATA_DOWN)

    @app.errorhandler(Exception)
    def crash(error: Exception):
        log.exception("unhandled error")
        return error_response(500, "Internal server error")
