"""Verify the Google-signed OIDC token Pub/Sub sends with every push delivery."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Mapping
from typing import Any

import requests
from google.auth import exceptions as google_exceptions
from google.auth import jwt as google_jwt
from google.auth.transport.requests import Request

from services.core.errors import Unauthorized

log = logging.getLogger(__name__)

GOOGLE_ISSUERS = frozenset({"accounts.google.com", "https://accounts.google.com"})
DEFAULT_CERTS_TTL_SECONDS = 300
CERTS_FETCH_TIMEOUT_SECONDS = 5
_MAX_AGE = re.compile(r"(?:^|[,\s])max-age=(\d+)", re.IGNORECASE)


class CertsCache:
    """Google's signing certificates ({kid: PEM}), refetched once Cache-Control max-age passes."""

    def __init__(self, certs_url: str, request: Request) -> None:
        self.certs_url = certs_url
        self._request = request
        self._certs: dict[str, str] = {}
        self._expires_at = 0.0
        # One fetch at a time: concurrent pushes on a cold cache share the result.
        self._lock = threading.Lock()

    def get(self) -> dict[str, str]:
        """Return the current certificates, fetching them if the cached copy has expired."""
        with self._lock:
            if time.monotonic() >= self._expires_at:
                self._certs, ttl = self._fetch()
                self._expires_at = time.monotonic() + ttl
            return self._certs

    def _fetch(self) -> tuple[dict[str, str], int]:
        response = self._request(self.certs_url, method="GET", timeout=CERTS_FETCH_TIMEOUT_SECONDS)
        if response.status != 200:
            raise google_exceptions.TransportError(f"HTTP {response.status}")
        certs = json.loads(response.data.decode("utf-8"))
        if not isinstance(certs, dict) or not certs:
            raise ValueError("certs document is not a non-empty JSON object")
        return certs, _max_age(response.headers.get("Cache-Control", ""))


def _max_age(cache_control: str) -> int:
    match = _MAX_AGE.search(cache_control)
    return int(match.group(1)) if match else DEFAULT_CERTS_TTL_SECONDS


class PushVerifier:
    """Accept a push only with a valid Google OIDC token for our audience and sender."""

    def __init__(
        self,
        audience: str | None,
        service_account: str | None,
        *,
        certs_url: str,
        session: requests.Session | None = None,
        clock_skew_seconds: int = 10,
    ) -> None:
        self.audience = audience
        self.service_account = service_account
        self.clock_skew_seconds = clock_skew_seconds
        self._certs = CertsCache(certs_url, Request(session=session))

    def verify(self, authorization_header: str | None) -> dict[str, Any]:
        """Return the token's verified claims, or raise Unauthorized."""
        if not (self.audience and self.service_account):
            # Fail closed: a verifier without an expected audience and sender accepts nobody.
            log.warning("push rejected: PUBSUB_PUSH_AUDIENCE or PUBSUB_PUSH_SERVICE_ACCOUNT unset")
            raise Unauthorized()
        token = _bearer_token(authorization_header)
        claims = self._decode(token, self._fetch_certs())
        self._check_claims(claims)
        return claims

    def _fetch_certs(self) -> dict[str, str]:
        try:
            return self._certs.get()
        except (google_exceptions.GoogleAuthError, ValueError, OSError) as exc:
            log.warning("push rejected: cannot fetch certs from %s: %s", self._certs.certs_url, exc)
            raise Unauthorized() from exc

    def _decode(self, token: str, certs: dict[str, str]) -> dict[str, Any]:
        # jwt.decode checks the signature (kid must be published), iat/exp and aud.
        try:
            claims = google_jwt.decode(
                token,
                certs=certs,
                audience=self.audience,
                clock_skew_in_seconds=self.clock_skew_seconds,
            )
        except (google_exceptions.GoogleAuthError, ValueError, TypeError) as exc:
            log.info("push rejected: %s", exc)
            raise Unauthorized() from exc
        return dict(claims)

    def _check_claims(self, claims: Mapping[str, Any]) -> None:
        if claims.get("iss") not in GOOGLE_ISSUERS:
            log.info("push rejected: issuer %r", claims.get("iss"))
            raise Unauthorized()
        if claims.get("email") != self.service_account or claims.get("email_verified") is not True:
            log.info("push rejected: sender %r is not the push account", claims.get("email"))
            raise Unauthorized()


class NoVerification:
    """Accept every push: development only, chosen by PUBSUB_VERIFY_PUSH=false."""

    def verify(self, authorization_header: str | None) -> dict[str, Any]:
        """Accept anything and return no claims."""
        return {}


def _bearer_token(authorization_header: str | None) -> str:
    parts = (authorization_header or "").split(" ")
    if len(parts) != 2 or parts[0] != "Bearer" or not parts[1]:
        raise Unauthorized()
    return parts[1]
