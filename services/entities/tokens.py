"""File tokens: an HMAC over one entity version and an expiry, for media elements' URLs.

`<img>` and `<video>` cannot send an Authorization header, so the entity API hands out
short-lived URLs of one version's file (and its thumbnail) that carry `?token=`. The token
names the entity and the version, so a URL always shows the same bytes, and it is judged by
the service clock. Like the media API's download tokens it is not bound to a user: whoever
holds the URL may read that one version until it expires.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from services.core.errors import Forbidden

INVALID_TOKEN = "Invalid or expired file token"
_PURPOSE = b"mediastore/entity-file/v1"
_MAX_DIGITS = 19


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _number(text: str | int | None) -> int | None:
    """A path or query number as the token signs it; None when it is not a plain number."""
    if isinstance(text, int):
        return text
    if text is None or not (text.isascii() and text.isdigit()) or len(text) > _MAX_DIGITS:
        return None
    return int(text)


class FileTokens:
    """Issues `<expiry>.<signature>` for one entity version; verify() refuses anything else."""

    def __init__(self, secret: bytes, *, ttl_seconds: int, clock: Callable[[], datetime]) -> None:
        if not secret:
            raise ValueError("the file token secret must not be empty")
        self._secret = secret
        self.ttl = timedelta(seconds=ttl_seconds)
        self.clock = clock

    def issue(self, entity_id: int, version: int) -> tuple[str, datetime]:
        """A token for this version of the entity, and when it expires."""
        expires = int((self.clock() + self.ttl).timestamp())
        token = f"{expires}.{self._sign(entity_id, version, expires)}"
        return token, datetime.fromtimestamp(expires, UTC)

    def verify(self, token: str, entity_id: str | int, version: str | int | None) -> None:
        """Raise Forbidden unless the token was issued for this entity version and is unexpired."""
        expires_text, _, signature = token.partition(".")
        expires, entity, number = _number(expires_text), _number(entity_id), _number(version)
        if expires is None or entity is None or number is None:
            raise Forbidden(INVALID_TOKEN)
        if not hmac.compare_digest(signature, self._sign(entity, number, expires)):
            raise Forbidden(INVALID_TOKEN)
        if expires <= self.clock().timestamp():
            raise Forbidden(INVALID_TOKEN)

    def _sign(self, entity_id: int, version: int, expires: int) -> str:
        message = b"|".join([_PURPOSE, b"%d" % entity_id, b"%d" % version, b"%d" % expires])
        return _b64(hmac.new(self._secret, message, hashlib.sha256).digest())
