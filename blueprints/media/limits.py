"""The media API's rate limits: Flask-Limiter checks a view calls once it knows who is asking.

The app's wiring builds one `RateLimits` per app (app/wiring/media.py) and keeps it in
app.extensions; views call check_rate_limit() after authentication, so an anonymous flood
never counts against a user and a refused token is a 401, not a 429. Counts use the moving
window (no minute boundary to game) and real time, as Flask-Limiter and its storage keep it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from flask import current_app, g, request
from flask_limiter import Limiter, RateLimitExceeded
from werkzeug.exceptions import TooManyRequests

LIMITS_KEY = "mediastore.media_limits"
_KEY_ATTR = "media_rate_limit_key"
_RETRY_ATTR = "media_retry_after"


class RateLimits:
    """Named limits (`upload`, `download`) on one app's limiter."""

    def __init__(self, limiter: Limiter, **limits: str) -> None:
        self.limiter = limiter
        self._guards = {name: self._guard(name, value) for name, value in limits.items()}

    def _guard(self, name: str, value: str) -> Callable[[], None]:
        def within_limit() -> None:
            return None

        # Flask-Limiter files a decorated limit under the callable's qualified name.
        within_limit.__qualname__ = within_limit.__name__ = f"media_{name}_rate_limit"
        return self.limiter.limit(value, key_func=lambda: getattr(g, _KEY_ATTR), scope=name)(
            within_limit
        )

    def check(self, name: str, key: str) -> None:
        """Count one request of `key` against the named limit; TooManyRequests past it."""
        setattr(g, _KEY_ATTR, key)
        try:
            self._guards[name]()
        except RateLimitExceeded as breach:
            current = self.limiter.current_limit
            window = current.limit.get_expiry() if current is not None else 60
            # reset_at is whole seconds rounded up: never ask for more than one window.
            wait = current.reset_at - time.time() if current is not None else window
            setattr(g, _RETRY_ATTR, min(window, max(1, math.ceil(wait))))
            raise TooManyRequests() from breach


def check_rate_limit(name: str, key: str) -> None:
    """Count this request against the app's media limit `name` for `key` (a user or address)."""
    current_app.extensions[LIMITS_KEY].check(name, key)


def client_address() -> str:
    """The caller's address: the last X-Forwarded-For hop (Cloud Run's front end adds it).

    The last hop is the one the nearest proxy saw; earlier ones are whatever the client
    claimed. Without the header, the socket's peer.
    """
    forwarded = request.headers.get("X-Forwarded-For", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    return hops[-1] if hops else (request.remote_addr or "unknown")


def add_retry_after(response):
    """After a refusal, say when to come back (a blueprint's after_request hook)."""
    retry = g.get(_RETRY_ATTR)
    if retry is not None and response.status_code == 429:
        response.headers["Retry-After"] = str(retry)
    return response
