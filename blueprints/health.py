"""Liveness and readiness probes."""

from __future__ import annotations

from blueprints._http.api import Blueprint
from blueprints._http.context import services
from blueprints._http.schemas import HealthRead, ReadyRead
from services.core.errors import StorageUnavailable

blp = Blueprint("health", __name__, description="Probes", uses_storage=False)


@blp.route("/health", methods=["GET"])
@blp.response(200, HealthRead)
def health():
    """Answer without touching any dependency."""
    return {"status": "healthy"}


@blp.route("/ready", methods=["GET"])
@blp.response(200, ReadyRead)
@blp.alt_response(503, schema=ReadyRead)
def ready():
    """Check object storage and the metadata store; 503 names what is down."""
    checks = {}
    for name, probe in (("storage", services().store.ping), ("metadata", services().database.ping)):
        try:
            probe()
            checks[name] = "ok"
        except StorageUnavailable as error:
            checks[name] = f"unavailable: {error.message}"
    down = [name for name, state in checks.items() if state != "ok"]
    if down:
        return {"status": "unavailable", "down": down, "checks": checks}, 503
    return {"status": "ready", "checks": checks}
