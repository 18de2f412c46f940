"""The blueprint every feature's routes use: the error shape of its API, and safe JSON bodies."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import flask
import flask_smorest
import marshmallow as ma
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from blueprints._http import documented
from services.core.nesting import MAX_DEPTH, nested_deeper_than

# JSON bodies are small documents; uploads never come as JSON.
JSON_BODY_MAX_BYTES = 1024 * 1024
JSON_MAX_DEPTH = MAX_DEPTH
REQUIRED_MESSAGE = "Missing data for required field."
# webargs' location names -> FastAPI's first `loc` element.
_FASTAPI_LOCATIONS = {"json": "body", "form": "body", "files": "body", "querystring": "query"}
_FASTAPI_LOCATIONS |= {"query": "query", "view_args": "path", "path": "path", "headers": "header"}
# Defaults whose value cannot change once handed out: a kept answer may share them.
_IMMUTABLE_DEFAULTS = (type(None), bool, int, float, str, bytes)


@dataclass(frozen=True)
class ErrorStyle:
    """How one API answers errors: the key its message goes under, and its validation errors.

    `validation` turns webargs' {location: {field: [message]}} into the body; the status of
    a validation error is `validation_status`. The authentication texts are the API's own
    words for: no credentials (`unauthenticated`), credentials that do not verify
    (`bad_credentials`), a caller without the permission (`not_permitted`) or without admin
    rights (`admin_only`); `challenge`, when set, goes out as `WWW-Authenticate` with 401s.
    """

    name: str
    key: str
    validation_status: int
    validation: Callable[[Mapping[str, Any]], Any]
    unauthenticated: str = "Unauthorized"
    bad_credentials: str = "Unauthorized"
    not_permitted: str = "Forbidden"
    admin_only: str = "Forbidden"
    challenge: str | None = None

    def body(self, message: str) -> dict[str, Any]:
        """The body of an error with one message."""
        return {self.key: message}

    def validation_body(self, messages: Mapping[str, Any]) -> dict[str, Any]:
        """The body of a validation error."""
        return {self.key: self.validation(messages)}


def _flatten(messages: Any, loc: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Yield (location path, message) for every message in webargs' nested error mapping."""
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            yield from _flatten(value, (*loc, key))
    elif isinstance(messages, list | tuple):
        for message in messages:
            yield from _flatten(message, loc)
    else:
        yield loc, str(messages)


def first_message(messages: Mapping[str, Any]) -> str:
    """The first human message: the seed-003 shape reports one."""
    return next((message for _, message in _flatten(messages)), "Bad request")


def fastapi_details(messages: Mapping[str, Any]) -> list[dict[str, Any]]:
    """FastAPI's validation detail: [{"loc": [...], "msg": ..., "type": ...}]."""
    details = []
    for (location, *path), message in _flatten(messages):
        kind = "missing" if message == REQUIRED_MESSAGE else "value_error"
        if path == ["_schema"]:
            path, kind = [], "type_error"
        loc = [_FASTAPI_LOCATIONS.get(location, location), *path]
        details.append({"loc": loc, "msg": message, "type": kind})
    return details


def field_message(messages: Mapping[str, Any]) -> str:
    """One message naming its field, for `{"detail": ...}` APIs that answer 400."""
    for (_, *path), message in _flatten(messages):
        field = ".".join(str(part) for part in path if part != "_schema")
        return f"{field}: {message}" if field else message
    return "Bad request"


# The video API (seed 003): {"error": "..."}; validation errors are 400 with one message.
SEED_003 = ErrorStyle("seed-003", "error", 400, first_message)
# FastAPI originals (000 screenshots, 001 media, 004 entities): {"detail": ...}, 422 lists.
FASTAPI = ErrorStyle("fastapi", "detail", 422, fastapi_details)
# Django REST framework original (002 part uploads): {"detail": ...}, 400 naming the field.
DRF = ErrorStyle("drf", "detail", 400, field_message)
# The entity API (seed 004): FastAPI's shapes with its original's authentication texts.
ENTITIES = replace(
    FASTAPI,
    name="entities",
    unauthenticated="Authentication required",
    bad_credentials="Could not validate credentials",
    not_permitted="Not enough permissions",
    admin_only="Admin access required",
    challenge="Bearer",
)
DEFAULT_STYLE = SEED_003


def read_json_body(request: flask.Request, max_bytes: int = JSON_BODY_MAX_BYTES) -> Any:
    """Parse the JSON body: 413 past max_bytes (judged before reading), ValueError when invalid.

    A nesting deeper than JSON_MAX_DEPTH is invalid too: Python's parser would otherwise
    recurse until RecursionError, and so would any code walking the document later.
    """
    request.max_content_length = max_bytes  # werkzeug refuses larger bodies with 413
    data = request.get_data(cache=True)
    too_deep = f"JSON nested deeper than {JSON_MAX_DEPTH} levels"
    try:
        value = core.parse_json(data)
    except RecursionError as error:
        # A non-empty doc: webargs reads an empty one as "no body at all".
        raise json.JSONDecodeError(too_deep, too_deep, 0) from error
    if nested_deeper_than(value, JSON_MAX_DEPTH):
        raise json.JSONDecodeError(too_deep, too_deep, 0)
    return value


class BoundedJsonParser(FlaskParser):
    """webargs' Flask parser with bounded JSON bodies (size and depth).

    A query schema's answer to an empty query string is worked out once and kept: most
    GETs send none, and loading nothing through the schema cost a small request a
    twentieth of its time. Only where that answer cannot differ from one request to the
    next (see _keeps_empty_answer); a copy goes out each time.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._empty_query_answers: dict[tuple[ma.Schema, Any], dict[str, Any]] = {}

    def parse(self, argmap: Any, req: Any = None, **options: Any) -> Any:
        """webargs' parse; from the kept answer when the query string is empty."""
        if not _keeps_empty_answer(argmap, options) or flask.request.query_string:
            return super().parse(argmap, req, **options)
        key = (argmap, options.get("unknown", core._UNKNOWN_DEFAULT_PARAM))
        kept = self._empty_query_answers.get(key)
        if kept is None:
            kept = dict(super().parse(argmap, req, **options))  # raises: nothing is kept
            self._empty_query_answers[key] = kept
        return dict(kept)

    def _raw_load_json(self, req: flask.Request) -> Any:
        if not is_json_request(req):
            return core.missing
        return read_json_body(req)


def _keeps_empty_answer(argmap: Any, options: Mapping[str, Any]) -> bool:
    """Whether loading an empty query through `argmap` gives the same dict every time.

    It does for a plain schema instance with no hooks (pre/post load, schema or field
    validators) whose defaults are fixed immutable values: a callable default (a clock, a
    fresh list) or a hook could answer differently, and is loaded on every request.
    """
    if options.get("location") not in ("query", "querystring") or options.get("validate"):
        return False
    if not isinstance(argmap, ma.Schema) or argmap.many or any(argmap._hooks.values()):
        return False
    return all(
        field.load_default is ma.missing or type(field.load_default) in _IMMUTABLE_DEFAULTS
        for field in argmap.load_fields.values()
    )


class Api(flask_smorest.Api):
    """flask-smorest's Api without its `default` error response: ours are per status."""

    DEFAULT_ERROR_RESPONSE_NAME = None


class Blueprint(flask_smorest.Blueprint):
    """A flask-smorest blueprint that names the error shape of its API.

    Its operations document their errors in that shape: `@blp.errors(404, 409)` for the
    statuses a view answers, and blueprints/_http/documented.py adds those that follow from
    how an operation is built (401, validation, 408/413 for bodies, 503). `uses_storage`
    is False only for blueprints that never touch a store (liveness).
    """

    ARGUMENTS_PARSER = BoundedJsonParser()

    def __init__(
        self,
        *args: Any,
        error_style: ErrorStyle = DEFAULT_STYLE,
        uses_storage: bool = True,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.error_style = error_style
        self._prepare_doc_cbks.append(
            documented.error_doc_callback(error_style, uses_storage=uses_storage)
        )

    def arguments(self, schema: Any, **kwargs: Any) -> Callable:
        """flask-smorest's arguments, documenting the API's own validation status.

        A schema class is instantiated here, once per view: webargs would build a new
        instance, deep-copying its fields, on every request (25 us for a listing's).
        """
        if isinstance(schema, type) and issubclass(schema, ma.Schema):
            schema = schema()
        kwargs.setdefault("error_status_code", self.error_style.validation_status)
        return super().arguments(schema, **kwargs)

    def errors(self, *statuses: int) -> Callable:
        """Document that the view answers these error statuses, in the API's shape."""

        def decorate(view: Callable) -> Callable:
            for status in reversed(statuses):
                schema = documented.error_schema(self.error_style, status)
                view = self.alt_response(status, schema=schema)(view)
            return view

        return decorate
