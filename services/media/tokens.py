"""Download tokens: an HMAC over one media id and an expiry, judged by the service clock."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime, timedelta

from services.core.errors import Forbidden

INVALID_TOKEN = "Invalid or expired download token"
_PURPOSE = b"mediastore/media-download/v1"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class DownloadTokens:
    """Issues `<expiry>.<signature>` tokens for one file; verify() refuses any other file.

    The key is the service's own (MEDIA_DOWNLOAD_TOKEN_SECRET), never the JWT key, and the
    signed message names its purpose, so no other signature of the service can pass.
    A token is not bound to a user: whoever holds it may download that one file until it
    expires, which is what the seed's "temporary access token" is for.
    """

    def __init__(self, secret: bytes, *, ttl_seconds: int, clock: Callable[[], datetime]) -> None:
        if not secret:
            raise ValueError("the download token secret must not be empty")
        self._secret = secret
        self.ttl = timedelta(seconds=ttl_seconds)
        self.clock = clock

    def issue(self, media_id: str) -> str:
        """A token for `media_id` valid for the configured lifetime from now."""
        expires = int((self.clock() + self.ttl).timestamp())
        return f"{expires}.{self._sign(media_id, expires)}"

    def verify(self, token: str, media_id: str) -> None:
        """Raise Forbidden unless the token was issued for this id and has not expired."""
        expires_text, _, signature = token.partition(".")
        if not (expires_text.isascii() and expires_text.isdigit()) or len(expires_text) > 12:
            raise Forbidden(INVALID_TOKEN)
        expires = int(expires_text)
        if not hmac.compare_digest(signature, self._sign(media_id, expires)):
            raise Forbidden(INVALID_TOKEN)
        if expires <= self.clock().timestamp():
            raise Forbidden(INVALID_TOKEN)

    def _sign(self, media_id: str, expires: int) -> str:
        message = b"|".join([_PURPOSE, media_id.encode("utf-8"), str(expires).encode("ascii")])
        return _b64(hmac.new(self._secret, message, hashlib.sha256).digest())
