"""The media API's rate limits: checks a view makes once it knows who is asking.

The app's wiring builds one `RateLimits` per app (app/wiring/media.py) and keeps it in
app.extensions; views call check_rate_limit() after authentication, so an anonymous flood
never counts against a user and a refused token is a 401, not a 429. Counts use the moving
window (no minute boundary to game) and real time, in the storage Flask-Limiter configures.
"""

from __future__ import annotations

import math
import time

from flask import current_app, g, request
from flask_limiter import Limiter
from limits import parse_many
from werkzeug.exceptions import TooManyRequests

LIMITS_KEY = "mediastore.media_limits"
KEY_PREFIX = "mediastore"
_RETRY_ATTR = "media_retry_after"


class RateLimits:
    """Named limits (`upload`, `download`) on one app's limiter.

    Counted by the limiter's own strategy and storage (the `limits` package Flask-Limiter
    runs on, configured by it): a view's check is one hit per limit, without the request
    filtering and limit resolution Flask-Limiter's decorators repeat on every request.
    """

    def __init__(self, limiter: Limiter, **limits: str) -> None:
        self.limiter = limiter
        self._limits = {name: parse_many(value) for name, value in limits.items()}

    def check(self, name: str, key: str) -> None:
        """Count one request of `key` against the named limit; TooManyRequests past it."""
        strategy = self.limiter.limiter  # the in-memory fallback while storage is down
        for item in self._limits[name]:
            if strategy.hit(item, KEY_PREFIX, name, key):
                continue
            reset_at, _ = strategy.get_window_stats(item, KEY_PREFIX, name, key)
            window = item.get_expiry()
            # Never ask for more than one window, nor less than a second.
            setattr(g, _RETRY_ATTR, min(window, max(1, math.ceil(reset_at - time.time()))))
            raise TooManyRequests()


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
