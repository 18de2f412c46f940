"""Bearer JWT verification with flask-jwt-extended; every failure is a 401 in the API's words."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from flask import Flask, current_app, g, request
from flask_jwt_extended import JWTManager, verify_jwt_in_request
from flask_jwt_extended.config import config as jwt_config
from flask_jwt_extended.default_callbacks import default_decode_key_callback
from flask_jwt_extended.exceptions import NoAuthorizationError
from flask_jwt_extended.internal_utils import (
    custom_verification_for_token,
    verify_token_not_blocklisted,
    verify_token_type,
)
from flask_jwt_extended.tokens import _decode_jwt
from flask_jwt_extended.view_decorators import _decode_jwt_from_headers, _load_user
from jwt import ExpiredSignatureError

from app.errors import request_style, unauthorized_response
from services.clients.users import UserProfiles
from services.core.users import User

# PyJWT judges exp, nbf and iat by the wall clock. The service judges them by its own clock
# (strict_claims below), so PyJWT's window is opened wide enough that it never decides first.
WALL_CLOCK_LEEWAY = timedelta(days=365 * 1000)


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
        JWT_DECODE_LEEWAY=WALL_CLOCK_LEEWAY,
    )
    if algorithm == "HS256":
        app.config["JWT_SECRET_KEY"] = settings["JWT_SECRET_KEY"]
    else:
        app.config["JWT_PUBLIC_KEY"] = public_key


# Tokens whose signature and fixed claims were verified, per app: a client sends the same
# access token with every request until it expires, and verification is most of what
# authenticating a small request costs. Bounded; a full cache drops its least recent entry.
VERIFIED_TOKENS_CACHED = 4096
# Every app setting flask-jwt-extended 4.7 reads for the verified decode (decode_algorithms,
# decode_audience, decode_issuer, decode_key, identity_claim_key, leeway, verify_sub) and
# for where the token is (token_location, header_name, header_type). The settings built
# from them are kept until one of these values changes.
READ_SETTINGS = (
    "JWT_ALGORITHM",
    "JWT_DECODE_ALGORITHMS",
    "JWT_DECODE_AUDIENCE",
    "JWT_DECODE_ISSUER",
    "JWT_DECODE_LEEWAY",
    "JWT_IDENTITY_CLAIM",
    "JWT_PUBLIC_KEY",
    "JWT_SECRET_KEY",
    "SECRET_KEY",
    "JWT_VERIFY_SUB",
    "JWT_TOKEN_LOCATION",
    "JWT_HEADER_NAME",
    "JWT_HEADER_TYPE",
)


class SingleDecodeJWTManager(JWTManager):
    """flask-jwt-extended, verifying each distinct token once per process.

    The library first decodes the claims unverified, only to hand them to a key loader,
    then decodes again with the key, and then decodes the header a third time for its
    callbacks. The key here never depends on the token, so the verified decode, with the
    same settings, is the only one (a profile of a small request showed the two decodes at
    a fifth of its time, and the header's at a twentieth).

    Its result, the claims and the header, is kept, keyed by the exact token and the decode
    settings. PyJWT's verdict on a token depends on nothing else: the signature, `alg`,
    `iss`, `aud` and the claims' types are fixed by the token's bytes, and its time checks
    never decide (see WALL_CLOCK_LEEWAY). What depends on the moment or the request is
    judged on every request after the decode, as before: expiry and `nbf` by the service
    clock (strict_claims), the user lookup, the token type. A token that fails
    verification is not kept, so a bad one is verified, and refused, every time.
    """

    def __init__(self, app: Flask | None = None) -> None:
        super().__init__(app)
        self._verified = functools.lru_cache(maxsize=VERIFIED_TOKENS_CACHED)(_verified_token)
        self._kept_settings: tuple[list, _Settings] | None = None

    def verify_request(self, optional: bool = False) -> tuple[dict, dict] | None:
        """flask-jwt-extended's verify_jwt_in_request(optional), with the kept header.

        The same steps in the same order, raising the same errors: the Authorization
        header (NoAuthorizationError, or None when `optional`), the verified decode, the
        token type, the blocklist, strict_claims, the user lookup; then the token is the
        request's. Settings other than ours (tokens outside headers, a key loader) go
        through the library's own function.
        """
        if request.method in jwt_config.exempt_methods:
            return None
        settings = self._settings()
        if not self._kept_decode_applies() or not settings.headers_only:
            return verify_jwt_in_request(optional)
        try:
            encoded_token = settings.bearer and _plain_bearer_token()
            if not encoded_token:
                encoded_token, _csrf = _decode_jwt_from_headers()
        except NoAuthorizationError:
            if not optional:
                raise
            g._jwt_extended_jwt, g._jwt_extended_jwt_header = {}, {}
            g._jwt_extended_jwt_user = {"loaded_user": None}
            g._jwt_extended_jwt_location = None
            return None
        claims, header = self._decode_with_header(encoded_token)
        verify_token_type(claims, refresh=False)
        verify_token_not_blocklisted(header, claims)
        custom_verification_for_token(header, claims)
        g._jwt_extended_jwt_user = _load_user(header, claims)
        g._jwt_extended_jwt_header = header
        g._jwt_extended_jwt = claims
        g._jwt_extended_jwt_location = "headers"
        return header, claims

    def _decode_jwt_from_config(
        self, encoded_token: str, csrf_value: Any = None, allow_expired: bool = False
    ) -> dict:
        if not self._kept_decode_applies() or csrf_value or allow_expired:
            return super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        return self._decode_with_header(encoded_token)[0]

    def _kept_decode_applies(self) -> bool:
        return self._decode_key_callback is default_decode_key_callback

    def _decode_with_header(self, encoded_token: str) -> tuple[dict, dict]:
        """Copies of the token's verified claims and its header, from the cache if kept."""
        settings = self._settings().decode
        try:
            claims, header = self._verified(encoded_token, settings)
        except ExpiredSignatureError:
            # Rare: let the library attach the header and claims to the error it raises.
            claims = super()._decode_jwt_from_config(encoded_token)
            header = jwt.get_unverified_header(encoded_token)
        # Copies: the caller's may be changed without changing the kept ones.
        return dict(claims), dict(header)

    def _settings(self) -> _Settings:
        """The current app's settings, built again only when one of READ_SETTINGS changed."""
        config = current_app.config
        values = [_frozen(config.get(name)) for name in READ_SETTINGS]
        kept = self._kept_settings
        if kept is not None and kept[0] == values:
            return kept[1]
        audience = jwt_config.decode_audience
        settings = _Settings(
            decode=_DecodeSettings(
                algorithms=tuple(jwt_config.decode_algorithms),
                audience=audience if isinstance(audience, str | None) else tuple(audience),
                identity_claim_key=jwt_config.identity_claim_key,
                issuer=jwt_config.decode_issuer,
                leeway=jwt_config.leeway,
                key=jwt_config.decode_key,
                verify_sub=jwt_config.verify_sub,
            ),
            headers_only=tuple(jwt_config.token_location) == ("headers",),
            bearer=(jwt_config.header_name, jwt_config.header_type) == ("Authorization", "Bearer"),
        )
        self._kept_settings = (values, settings)
        return settings


def _frozen(value: Any) -> Any:
    """A setting as compared with its kept value: a list copied, so changing it in place counts."""
    return tuple(value) if isinstance(value, list | set) else value


def _plain_bearer_token() -> str | None:
    """The token of the usual `Authorization: Bearer <token>`, else None (the library parses).

    For this one form the library's parser (comma-separated values, one `Bearer` among
    them, split on white space) finds the same token; any other form goes to it.
    """
    value = request.environ.get("HTTP_AUTHORIZATION", "")
    token = value[7:]
    if value.startswith("Bearer ") and "," not in value and token.split() == [token]:
        return token
    return None


@dataclass(frozen=True)
class _Settings:
    """What the manager reads from the app's settings (see READ_SETTINGS)."""

    decode: _DecodeSettings
    headers_only: bool  # tokens come from a header only
    bearer: bool  # the header is `Authorization: Bearer <token>`


@dataclass(frozen=True)
class _DecodeSettings:
    """What PyJWT's verdict on a token depends on besides the token: part of the cache key."""

    algorithms: tuple[str, ...]
    audience: str | tuple[str, ...] | None
    identity_claim_key: str
    issuer: str | None
    leeway: Any
    key: Any
    verify_sub: bool


def _verified_token(encoded_token: str, settings: _DecodeSettings) -> tuple[dict, dict]:
    """The token's claims verified by flask-jwt-extended's decode, and its header."""
    claims = _decode_jwt(
        algorithms=list(settings.algorithms),
        audience=settings.audience,
        csrf_value=None,
        encoded_token=encoded_token,
        identity_claim_key=settings.identity_claim_key,
        issuer=settings.issuer,
        leeway=settings.leeway,
        secret=settings.key,
        verify_aud=settings.audience is not None,
        verify_sub=settings.verify_sub,
        allow_expired=False,
    )
    return claims, jwt.get_unverified_header(encoded_token)


def init_auth(
    app: Flask, profiles: UserProfiles | None, clock: Callable[[], datetime]
) -> JWTManager:
    """Register the JWT manager, the current-user loader and the 401 answers.

    The texts are the serving API's (its ErrorStyle): one for a request without a token,
    one for a token that does not verify.
    """
    jwt = SingleDecodeJWTManager(app)

    @jwt.unauthorized_loader
    def no_token(*_args: Any) -> Any:
        return unauthorized_response(request_style().unauthenticated)

    def bad_token(*_args: Any) -> Any:
        return unauthorized_response(request_style().bad_credentials)

    for register in (
        jwt.invalid_token_loader,
        jwt.expired_token_loader,
        jwt.revoked_token_loader,
        jwt.needs_fresh_token_loader,
        jwt.user_lookup_error_loader,
        jwt.token_verification_failed_loader,
    ):
        register(bad_token)

    @jwt.token_verification_loader
    def strict_claims(_header: dict, claims: dict) -> bool:
        # Tokens must be unexpired by the service clock, name a subject, and be user access
        # tokens; a token not valid before a moment (nbf) is refused until then.
        subject = claims.get("sub")
        return (
            isinstance(subject, str)
            and bool(subject)
            and claims.get("type") == "access"
            and _in_force(claims, clock().timestamp())
        )

    @jwt.user_lookup_loader
    def load_user(_header: dict, claims: dict) -> User | None:
        user = User.from_claims(claims)
        if profiles is None:
            return user
        profile = profiles.lookup(_bearer_token())
        return None if profile is None else user.with_profile(profile)

    return jwt


def _in_force(claims: dict, now: float) -> bool:
    """True when `exp` lies after now and `nbf`, if present, does not."""
    expires, not_before = claims.get("exp"), claims.get("nbf", now)
    numbers = all(
        isinstance(value, int | float) and not isinstance(value, bool)
        for value in (expires, not_before)
    )
    return numbers and not_before <= now < expires


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    return header.split(None, 1)[1] if " " in header else ""
