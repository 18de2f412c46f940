"""Development secrets: generated once, kept in DATA_DIR, never used in production."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def persistent_secret(data_dir: str, name: str) -> str:
    """Read DATA_DIR/name, creating it with a random value (mode 0600) on first use."""
    path = Path(data_dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        value = secrets.token_urlsafe(48)
        handle.write(value)
    return value


def read_public_key(settings: dict) -> str | None:
    """The PEM verification key from JWT_PUBLIC_KEY or the file at JWT_PUBLIC_KEY_PATH."""
    if settings.get("JWT_PUBLIC_KEY"):
        return settings["JWT_PUBLIC_KEY"]
    if settings.get("JWT_PUBLIC_KEY_PATH"):
        return Path(settings["JWT_PUBLIC_KEY_PATH"]).read_text()
    return None
