"""GET / (the page), GET /docs (Swagger UI), and the page's development sign-in."""

from __future__ import annotations

import re

from flask import Blueprint, Response, current_app, jsonify, render_template, request
from flask_jwt_extended import get_current_user

from blueprints._http.api import read_json_body
from blueprints._http.auth import verify_jwt_in_request
from blueprints._http.context import services
from blueprints._http.tokens import mint_token
from services.core.errors import InvalidRequest, NotFound
from services.entities import Need

blp = Blueprint(
    "web",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/web/static",
)

DEV_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
DEV_TOKEN_HOURS = 12


def _content_security_policy() -> str:
    """Scripts from this origin only, nothing inline; media also from signed storage URLs."""
    storage = current_app.config.get("WEB_STORAGE_ORIGINS", "")
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            # Swagger UI and Uppy set style attributes from their scripts.
            "style-src 'self' 'unsafe-inline'",
            f"img-src 'self' data: blob: {storage}".strip(),
            f"media-src 'self' blob: {storage}".strip(),
            f"connect-src 'self' {storage}".strip(),
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


@blp.after_request
def security_headers(response: Response) -> Response:
    """Every page and static file of the web blueprint is locked down the same way."""
    # nosniff and Referrer-Policy are on every response (app/http_headers.py).
    response.headers["Content-Security-Policy"] = _content_security_policy()
    response.headers["X-Frame-Options"] = "DENY"
    return response


def _dev_sign_in() -> bool:
    return current_app.config["APP_ENV"] != "production"


@blp.route("/")
def page():
    """The page: sign-in, videos, uploads, media, library, screenshots."""
    return render_template("index.html", dev_sign_in=_dev_sign_in())


@blp.route("/docs")
def docs():
    """Swagger UI over /openapi.json, served from the app."""
    return render_template("docs.html")


@blp.route("/web/clock")
def clock():
    """The service's time: the page judges token expiry by it, not by the browser's clock."""
    return jsonify({"now": services().clock().timestamp()})


@blp.route("/web/entity-access")
def entity_access():
    """What the caller may do in the library, so the page shows only the controls that work.

    The server's mode (demo, read auth on or off) and the bearer token's permissions decide,
    as they do for the entity API itself; a token that is sent must be valid (else 401).
    """
    verify_jwt_in_request(optional=True)
    user = get_current_user()
    access = services().entities.access

    def may(need: Need) -> bool:
        return not access.needs_token(need) or (user is not None and need.granted_to(user))

    return jsonify(
        {
            "auth_disabled": access.auth_disabled,
            "read_auth_enabled": access.read_auth.enabled(),
            "can_read": may(Need.READ),
            "can_write": may(Need.WRITE),
        }
    )


@blp.route("/web/dev-token", methods=["POST"])
def dev_token():
    """Development only: a token for any name, minted with the service's own key."""
    if not _dev_sign_in():
        raise NotFound()
    try:
        body = read_json_body(request, 4096)
    except ValueError as error:
        raise InvalidRequest("Expected a JSON body") from error
    name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(name, str) or not DEV_NAME.fullmatch(name):
        raise InvalidRequest("A name is 1 to 64 letters, digits, dots, dashes or underscores")
    token = mint_token(name, hours=DEV_TOKEN_HOURS, username=name)
    return jsonify({"token": token, "expires_in": DEV_TOKEN_HOURS * 3600})
