"""The local store's signed URLs: an HMAC over every field, GET URLs to read, PUT URLs to write."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from urllib.parse import quote

from services.core.errors import Forbidden
from services.storage.objects.base import SignedGrant, SignedUpload

REFUSED = "Invalid or expired signature"


class LocalUrlSigner:
    """Makes and checks /signed/ URLs with one key, judging expiry by the store's clock.

    GET URLs sign [name, expires, filename] (the format URLs issued before PUT URLs
    existed already use); PUT URLs sign ["PUT", name, expires, max, type]. The two
    messages can never be equal, so neither kind of URL can be turned into the other.
    """

    def __init__(self, key: bytes, clock: Callable[[], float]) -> None:
        self._key = key
        self._clock = clock

    def download_url(self, name: str, ttl_seconds: int, download_name: str | None) -> str:
        """A relative GET URL for `name`, offering `download_name` when given."""
        expires = self._expiry(ttl_seconds)
        grant = SignedGrant("GET", download_name=download_name)
        query = f"expires={expires}&signature={self._signature(name, expires, grant)}"
        if download_name is not None:
            query += f"&filename={quote(download_name, safe='')}"
        return f"/signed/{quote(name, safe='/')}?{query}"

    def upload(
        self, name: str, ttl_seconds: int, content_type: str | None, max_bytes: int | None
    ) -> SignedUpload:
        """A relative PUT URL for `name` and the headers its client must send."""
        if max_bytes is not None and max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        expires = self._expiry(ttl_seconds)
        grant = SignedGrant("PUT", max_bytes=max_bytes, content_type=content_type)
        query = f"method=PUT&expires={expires}"
        if max_bytes is not None:
            query += f"&max={max_bytes}"
        if content_type is not None:
            query += f"&type={quote(content_type, safe='')}"
        query += f"&signature={self._signature(name, expires, grant)}"
        headers = {} if content_type is None else {"Content-Type": content_type}
        return SignedUpload(
            url=f"/signed/{quote(name, safe='/')}?{query}",
            headers=headers,
            expires_at=datetime.fromtimestamp(expires, UTC),
        )

    def verify(self, name: str, method: str, params: Mapping[str, str]) -> SignedGrant:
        """The grant of an unexpired URL made by this key for `method`; else Forbidden."""
        if params.get("method", "GET") != method:
            raise Forbidden(REFUSED)
        expires = _number(params.get("expires"))
        if method == "GET":
            grant = SignedGrant("GET", download_name=params.get("filename"))
        elif method == "PUT":
            limit = params.get("max")
            grant = SignedGrant(
                "PUT",
                max_bytes=None if limit is None else _number(limit),
                content_type=params.get("type"),
            )
        else:
            raise Forbidden(REFUSED)
        expected = self._signature(name, expires, grant).encode()
        given = params.get("signature", "").encode("utf-8", "surrogatepass")
        if not hmac.compare_digest(expected, given) or expires < self._clock():
            raise Forbidden(REFUSED)
        return grant

    def _expiry(self, ttl_seconds: int) -> int:
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        return int(self._clock()) + ttl_seconds

    def _signature(self, name: str, expires: int, grant: SignedGrant) -> str:
        # JSON keeps the fields unambiguous: no separator can be smuggled into a name.
        if grant.method == "GET":
            fields: list[object] = [name, expires, grant.download_name]
        else:
            fields = [grant.method, name, expires, grant.max_bytes, grant.content_type]
        message = json.dumps(fields).encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()


def _number(text: str | None) -> int:
    """A non-negative decimal from a query parameter, or Forbidden."""
    if text is None or not (text.isascii() and text.isdigit()):
        raise Forbidden(REFUSED)
    return int(text)
