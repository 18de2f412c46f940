"""The headers every response carries, and CORS: one WSGI layer owns them.

Every response, including those answered before Flask (the body guard's 408/503):
- `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer` (signed URLs must
  never leave in a Referer header);
- `Strict-Transport-Security` in production;
- `Cache-Control: private, no-store` on JSON answered to a request that carried an
  Authorization header (user or peer token), unless the view chose its own. Downloads keep
  what `send_object` sets (`private, no-cache`: a browser may keep a copy but revalidates
  it by ETag; no shared cache stores it). The web blueprint adds its page policy (CSP,
  framing) on top.

CORS is off unless CORS_ALLOWED_ORIGINS names origins. A request from a named origin gets
its origin echoed in `Access-Control-Allow-Origin` (with `Vary: Origin`), and its preflight
(OPTIONS with Access-Control-Request-Method) is answered here, 204, with the methods and the
request headers the API reads (Authorization among them). `*` allows any origin and is
answered as `*` (refused in production). `Access-Control-Allow-Credentials` is never sent:
the API authenticates by bearer tokens, not cookies, so no origin is ever given the
browser's ambient credentials. Other origins get no CORS header and the browser refuses.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from flask import Flask

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

HSTS = "max-age=31536000"
NO_STORE = "private, no-store"
ANY_ORIGIN = "*"
CORS_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE"
CORS_REQUEST_HEADERS = "Authorization, Content-Type, Range, If-None-Match, If-Range, traceparent"
CORS_EXPOSED_HEADERS = "Content-Disposition, Content-Length, Content-Range, ETag, Retry-After"
CORS_MAX_AGE_SECONDS = "600"


def secure_responses(app: Flask) -> None:
    """Wrap the app so every response carries the common headers and CORS is applied."""
    app.wsgi_app = ResponseHeaders(  # type: ignore[method-assign]
        app.wsgi_app,
        hsts=app.config["APP_ENV"] == "production",
        cors_origins=parse_origins(app.config.get("CORS_ALLOWED_ORIGINS") or ""),
    )


def parse_origins(value: str) -> frozenset[str]:
    """The comma-separated origins, trimmed, lowercased, without a trailing slash."""
    return frozenset(
        origin.strip().rstrip("/").lower() for origin in value.split(",") if origin.strip()
    )


class ResponseHeaders:
    """WSGI middleware: see the module docstring."""

    def __init__(
        self, wsgi_app: WSGIApplication, *, hsts: bool, cors_origins: frozenset[str]
    ) -> None:
        self.wsgi_app = wsgi_app
        self.common = [("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer")]
        if hsts:
            self.common.append(("Strict-Transport-Security", HSTS))
        self._common_names = frozenset(name.lower() for name, _ in self.common)
        self.cors_origins = cors_origins

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        cors = self._cors_headers(environ.get("HTTP_ORIGIN"))
        if cors and _is_preflight(environ):
            headers = [*cors, *self._preflight_headers()]
            start_response("204 No Content", self._finish(headers, json_no_store=False))
            return []
        json_no_store = "HTTP_AUTHORIZATION" in environ

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            finished = self._finish([*headers, *cors], json_no_store=json_no_store)
            return start_response(status, finished, exc_info)

        return self.wsgi_app(environ, start)

    def _finish(self, headers: list[tuple[str, str]], *, json_no_store: bool) -> list:
        """The headers with the common ones set once each, and no-store where it applies."""
        names = self._common_names
        out = [(name, value) for name, value in headers if name.lower() not in names]
        out.extend(self.common)
        if self.cors_origins:
            out = _add_vary(out, "Origin")
        if json_no_store and _is_json(out) and not _has(out, "Cache-Control"):
            out.append(("Cache-Control", NO_STORE))
        return out

    def _cors_headers(self, origin: str | None) -> list[tuple[str, str]]:
        if not origin or not self.cors_origins:
            return []
        if ANY_ORIGIN in self.cors_origins:
            allowed = ANY_ORIGIN
        elif origin.rstrip("/").lower() in self.cors_origins:
            allowed = origin
        else:
            return []
        return [
            ("Access-Control-Allow-Origin", allowed),
            ("Access-Control-Expose-Headers", CORS_EXPOSED_HEADERS),
        ]

    def _preflight_headers(self) -> list[tuple[str, str]]:
        return [
            ("Access-Control-Allow-Methods", CORS_METHODS),
            ("Access-Control-Allow-Headers", CORS_REQUEST_HEADERS),
            ("Access-Control-Max-Age", CORS_MAX_AGE_SECONDS),
            ("Vary", "Access-Control-Request-Method, Access-Control-Request-Headers"),
            ("Content-Length", "0"),
        ]


def _is_preflight(environ: WSGIEnvironment) -> bool:
    return environ.get("REQUEST_METHOD") == "OPTIONS" and bool(
        environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD")
    )


def _has(headers: list[tuple[str, str]], name: str) -> bool:
    return any(key.lower() == name.lower() for key, _ in headers)


def _is_json(headers: list[tuple[str, str]]) -> bool:
    kind = next((value for key, value in headers if key.lower() == "content-type"), "")
    media_type = kind.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def _add_vary(headers: list[tuple[str, str]], field: str) -> list[tuple[str, str]]:
    """The headers with `field` named in Vary (merged into an existing Vary header)."""
    fields = [
        part.strip()
        for key, value in headers
        if key.lower() == "vary"
        for part in value.split(",")
        if part.strip()
    ]
    if field.lower() not in {f.lower() for f in fields}:
        fields.append(field)
    return [(k, v) for k, v in headers if k.lower() != "vary"] + [("Vary", ", ".join(fields))]
