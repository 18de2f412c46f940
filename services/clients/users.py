"""The user account service: validates bearer tokens and supplies profiles."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import requests


class UserProfiles:
    """Validates bearer tokens against the user account service: GET /api/users/profile.

    A 200 with a JSON object is a valid token; anything else (other status, timeout,
    connection error, non-JSON) is a rejection. Answers are cached briefly per token.
    """

    def __init__(
        self,
        base_url: str,
        *,
        session: requests.Session | None = None,
        timeout: float = 3.0,
        cache_seconds: int = 30,
        cache_size: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = base_url.rstrip("/") + "/api/users/profile"
        self.session = session or requests.Session()
        self.timeout = timeout
        self.cache_seconds = cache_seconds
        self.cache_size = cache_size
        self.clock = clock
        self._cache: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def lookup(self, token: str) -> dict[str, Any] | None:
        """Return the profile for a bearer token, or None when the service rejects it."""
        key = hashlib.sha256(token.encode()).hexdigest()
        cached = self._cached(key)
        if cached is not None:
            return cached
        profile = self._fetch(token)
        if profile is not None:
            self._remember(key, profile)
        return profile

    def _fetch(self, token: str) -> dict[str, Any] | None:
        try:
            response = self.session.get(
                self.url, headers={"Authorization": f"Bearer {token}"}, timeout=self.timeout
            )
            profile = response.json() if response.status_code == 200 else None
        except (requests.RequestException, ValueError):
            return None
        return profile if isinstance(profile, dict) else None

    def _cached(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self._cache.get(key)
            if entry is None or entry[0] <= self.clock():
                self._cache.pop(key, None)
                return None
            return entry[1]

    def _remember(self, key: str, profile: dict[str, Any]) -> None:
        with self._lock:
            self._cache[key] = (self.clock() + self.cache_seconds, profile)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
