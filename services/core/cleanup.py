"""Best-effort clean-up: a step that fails is logged, and the steps after it still run."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any


def quietly(step: Callable[[], Any], log: logging.Logger) -> Any:
    """Run a clean-up step; log and swallow its failure (returning None) so later steps run."""
    try:
        return step()
    except Exception:
        log.exception("clean-up step failed")
        return None
