"""Development tokens: minted with the service's own key, timed by the service clock."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import jwt
from flask import current_app


def mint_token(subject: str, *, hours: float = 1.0, **claims: Any) -> str:
    """A user access token signed with the service's HS256 key, timed by the service clock.

    For development and tests only; claims with a None value are left out.
    """
    config = current_app.config
    if config["JWT_ALGORITHM"] != "HS256":
        raise RuntimeError("development tokens need JWT_ALGORITHM=HS256 (a shared secret)")
    now = current_app.extensions["mediastore"].clock()
    payload: dict[str, Any] = {
        "sub": subject,
        "type": "access",
        "fresh": False,
        "jti": uuid.uuid4().hex,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + timedelta(hours=hours)).timestamp()),
        "iss": config.get("JWT_ISSUER"),
        "aud": config.get("JWT_AUDIENCE"),
        **claims,
    }
    payload = {key: value for key, value in payload.items() if value is not None}
    return jwt.encode(payload, config["JWT_SECRET_KEY"], algorithm="HS256")
