"""Authentication of the entity API: demo mode, permissions and the read-auth switch.

The seed's permission resolution: in demo mode (AUTH_DISABLED) everything is open and no
token is looked at; otherwise writes need `media_store_write`, the admin endpoints
`is_admin`, and reads need `media_store_read` while the read-auth switch is on (else they
are open). Admins may do everything. The check runs before the request is parsed, so a
caller without a token learns nothing about the body's validity.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import g, request

from blueprints._http.api import ENTITIES
from blueprints._http.auth import verify_jwt_in_request
from blueprints._http.context import current_user, services
from services.core.errors import Forbidden
from services.entities import Need

# OpenAPI: reads take a token when read auth is on, and none otherwise.
READ_SECURITY = [{"bearerAuth": []}, {}]
WRITE_SECURITY = [{"bearerAuth": []}]


def requires(need: Need) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a view (right under its route) to authorize its caller first."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def authorized(*args: Any, **kwargs: Any) -> Any:
            authorize(need)
            return view(*args, **kwargs)

        return authorized

    return decorate


def requires_read_or_file_token(view: Callable[..., Any]) -> Callable[..., Any]:
    """Like requires(Need.READ), except that a `?token=` from file-url stands in for a bearer.

    The token is judged first and alone (403 when it is not for this entity version or has
    expired), so a media element's URL works in every auth mode and never needs a header.
    """

    @functools.wraps(view)
    def authorized(*args: Any, **kwargs: Any) -> Any:
        token = request.args.get("token")
        if token is None:
            authorize(Need.READ)
        else:
            g.entity_actor = None
            entities = services().entities
            entities.check_file_token(token, kwargs["entity_id"], request.args.get("version"))
        return view(*args, **kwargs)

    return authorized


def authorize(need: Need) -> None:
    """Let the request through, or raise 401 (no or bad token) or 403 (not permitted)."""
    g.entity_actor = None
    if not services().entities.access.needs_token(need):
        return
    verify_jwt_in_request()  # 401 in the entity API's words, from app/auth.py's loaders
    user = current_user()
    if not need.granted_to(user):
        raise Forbidden(ENTITIES.admin_only if need is Need.ADMIN else ENTITIES.not_permitted)
    g.entity_actor = user.id


def actor() -> str | None:
    """Who is making the change: the token's subject, None in demo mode."""
    return g.get("entity_actor")
