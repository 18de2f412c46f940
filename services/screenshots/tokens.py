"""One-time upload tokens for peers: HS256 JWTs under a key of their own, never user tokens."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from services.core.errors import Unauthorized

TOKEN_TYPE = "screenshot_upload"
AUDIENCE = "mediastore:screenshot-upload"
ALGORITHM = "HS256"
_REQUIRED = ["exp", "aud", "type", "token_id", "peer_id", "catalog_id", "request_id"]

MALFORMED_HEADER = "Missing or malformed Authorization header"
INVALID_TOKEN = "Invalid or expired token"


@dataclass(frozen=True)
class PeerClaims:
    """What a verified upload token grants: one peer, one request of one catalog item."""

    token_id: str
    peer_id: str
    catalog_id: str
    request_id: str
    expires_at: datetime


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header; Unauthorized otherwise."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise Unauthorized(MALFORMED_HEADER)
    return token


class PeerTokens:
    """Issues and verifies upload tokens.

    The key is the service's own (not the user-token key), the audience and `type` claim
    are checked, and expiry is judged by the injected clock, so a user access token, a
    token for another audience or an expired one all fail verification with 401.
    """

    def __init__(self, secret: bytes, *, ttl: timedelta, clock: Callable[[], datetime]) -> None:
        if not secret:
            raise ValueError("the peer token secret must not be empty")
        self._secret = secret
        self.ttl = ttl
        self.clock = clock

    def issue(self, *, peer_id: str, catalog_id: str, request_id: str) -> tuple[str, PeerClaims]:
        """Sign a fresh token for one peer and one request; returns it with its claims."""
        claims = PeerClaims(
            token_id=uuid.uuid4().hex,
            peer_id=peer_id,
            catalog_id=catalog_id,
            request_id=request_id,
            expires_at=datetime.fromtimestamp(int((self.clock() + self.ttl).timestamp()), tz=UTC),
        )
        return self.encode(claims), claims

    def encode(self, claims: PeerClaims) -> str:
        """Sign the claims; the same claims always give the same token (HS256 is deterministic)."""
        payload = {
            "type": TOKEN_TYPE,
            "aud": AUDIENCE,
            "token_id": claims.token_id,
            "peer_id": claims.peer_id,
            "catalog_id": claims.catalog_id,
            "request_id": claims.request_id,
            "exp": int(claims.expires_at.timestamp()),
        }
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> PeerClaims:
        """Check signature, audience, type and expiry; Unauthorized if any fails."""
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                options={"require": _REQUIRED, "verify_exp": False},
            )
        except jwt.PyJWTError as error:
            raise Unauthorized(INVALID_TOKEN) from error
        if payload.get("type") != TOKEN_TYPE or not _all_strings(payload):
            raise Unauthorized(INVALID_TOKEN)
        exp = payload["exp"]
        if not isinstance(exp, int | float) or exp <= self.clock().timestamp():
            raise Unauthorized(INVALID_TOKEN)
        return PeerClaims(
            token_id=payload["token_id"],
            peer_id=payload["peer_id"],
            catalog_id=payload["catalog_id"],
            request_id=payload["request_id"],
            expires_at=datetime.fromtimestamp(exp, tz=UTC),
        )


def _all_strings(payload: dict) -> bool:
    keys = ("token_id", "peer_id", "catalog_id", "request_id")
    return all(isinstance(payload.get(key), str) and payload[key] for key in keys)
