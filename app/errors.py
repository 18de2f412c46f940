"""Every error becomes a JSON body {"error": ...} with the right status; never HTML."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from pymongo.errors import ConnectionFailure, PyMongoError
from werkzeug.exceptions import HTTPException

from services.core import errors

log = logging.getLogger("mediastore.errors")

STATUS = {
    errors.InvalidRequest: 400,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.ObjectMissing: 404,
    errors.Conflict: 409,
    errors.PayloadTooLarge: 413,
    errors.UnsupportedMediaType: 415,
    errors.RangeNotSatisfiable: 416,
    errors.StorageUnavailable: 503,
}

HTTP_MESSAGES = {
    400: "Bad request",
    401: "Unauthorized",
    404: "Not found",
    405: "Method not allowed",
    413: "Upload exceeds the maximum allowed size",
    415: "Unsupported media type",
}


def status_of(error: errors.MediastoreError) -> int:
    """The HTTP status for a domain error: the nearest mapped ancestor's, else 500."""
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def register_error_handlers(app: Flask) -> None:
    """Map domain errors, HTTP errors, validation errors and crashes to JSON."""

    @app.errorhandler(errors.MediastoreError)
    def domain_error(error: errors.MediastoreError):
        status = status_of(error)
        message = error.message
        if status == 503:
            # Outage details name objects, paths and backend replies: for the log only.
            cause = error.__cause__
            log.warning("dependency unavailable: %s", f"{message} ({cause})" if cause else message)
            message = errors.StorageUnavailable.default_message
        response = jsonify({"error": message})
        if isinstance(error, errors.RangeNotSatisfiable):
            response.headers["Content-Range"] = f"bytes */{error.size}"
        return response, status

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        messages = getattr(error, "data", {}).get("messages")
        if messages:  # webargs validation: report the first message, as a 400
            return jsonify({"error": _first_message(messages)}), 400
        message = HTTP_MESSAGES.get(error.code or 500, error.name)
        response = jsonify({"error": message})
        if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response, error.code

    @app.errorhandler(ConnectionFailure)
    def metadata_down(error: PyMongoError):
        log.warning("metadata store unavailable: %s", error)
        return jsonify({"error": "Metadata store is temporarily unavailable"}), 503

    @app.errorhandler(Exception)
    def crash(error: Exception):
        log.exception("unhandled error")
        return jsonify({"error": "Internal server error"}), 500


def _first_message(messages: object) -> str:
    """Dig the first human message out of webargs' nested {location: {field: [msg]}}."""
    while isinstance(messages, dict):
        messages = next(iter(messages.values()), "Bad request")
    if isinstance(messages, list):
        return str(messages[0]) if messages else "Bad request"
    return str(messages)
