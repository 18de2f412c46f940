"""Bearer JWT verification with flask-jwt-extended; every failure is 401 Unauthorized."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, request
from flask_jwt_extended import JWTManager

from services.clients.users import UserProfiles
from services.core.users import User

UNAUTHORIZED = {"error": "Unauthorized"}


def configure_jwt(app: Flask, settings: dict[str, Any], public_key: str | None) -> None:
    """Translate our settings into flask-jwt-extended's, accepting one algorithm only."""
    algorithm = settings["JWT_ALGORITHM"]
    app.config.update(
        JWT_TOKEN_LOCATION=["headers"],
        JWT_ALGORITHM=algorithm,
        JWT_DECODE_ALGORITHMS=[algorithm],
        JWT_IDENTITY_CLAIM="sub",
        JWT_COOKIE_CSRF_PROTECT=False,  # header tokens only; keeps minted tokens short
        JWT_DECODE_AUDIENCE=settings.get("JWT_AUDIENCE"),
        JWT_DECODE_ISSUER=settings.get("JWT_ISSUER"),
    )
    if algorithm == "HS256":
        app.config["JWT_SECRET_KEY"] = settings["JWT_SECRET_KEY"]
    else:
        app.config["JWT_PUBLIC_KEY"] = public_key


def init_auth(app: Flask, profiles: UserProfiles | None) -> JWTManager:
    """Register the JWT manager, the current-user loader and the 401 answers."""
    jwt = JWTManager(app)

    def unauthorized(*_args: Any) -> Any:
        return jsonify(UNAUTHORIZED), 401

    for register in (
        jwt.unauthorized_loader,
        jwt.invalid_token_loader,
        jwt.expired_token_loader,
        jwt.revoked_token_loader,
        jwt.needs_fresh_token_loader,
        jwt.user_lookup_error_loader,
        jwt.token_verification_failed_loader,
    ):
        register(unauthorized)

    @jwt.token_verification_loader
    def strict_claims(_header: dict, claims: dict) -> bool:
        # Tokens must expire, name a subject, and be user access tokens.
        subject = claims.get("sub")
        return (
            isinstance(claims.get("exp"), int | float)
            and isinstance(subject, str)
            and bool(subject)
            and claims.get("type") == "access"
        )

    @jwt.user_lookup_loader
    def load_user(_header: dict, claims: dict) -> User | None:
        user = User.from_claims(claims)
        if profiles is None:
            return user
        profile = profiles.lookup(_bearer_token())
        return None if profile is None else user.with_profile(profile)

    return jwt


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    return header.split(None, 1)[1] if " " in header else ""
