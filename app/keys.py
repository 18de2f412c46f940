"""Development secrets: generated once, kept in DATA_DIR, never used in production."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path

from config import ConfigError


def persistent_secret(data_dir: str, name: str) -> str:
    """Read DATA_DIR/name, creating it with a random value (mode 0600) on first use.

    The value is written to a temporary file first and published under its name with
    os.link, which fails if the name exists: so the name only ever holds a complete secret,
    and processes that start together on a fresh DATA_DIR all end with the winner's.
    """
    path = Path(data_dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        _publish(path, secrets.token_urlsafe(48))
    value = path.read_text().strip()
    if not value:
        # Only an older release, stopped between creating the file and writing it, leaves
        # this; replacing it here could race another process reading it.
        raise ConfigError(f"{path} is empty: delete it and a new secret is generated")
    return value


def _publish(path: Path, value: str) -> None:
    """Create `path` holding `value` in one step, unless another process already has."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(value)
            handle.flush()
            os.fsync(handle.fileno())
        # If another process published first, its secret is the one.
        with contextlib.suppress(FileExistsError):
            os.link(temp, path)
    finally:
        os.unlink(temp)


def read_public_key(settings: dict) -> str | None:
    """The PEM verification key from JWT_PUBLIC_KEY or the file at JWT_PUBLIC_KEY_PATH."""
    if settings.get("JWT_PUBLIC_KEY"):
        return settings["JWT_PUBLIC_KEY"]
    if settings.get("JWT_PUBLIC_KEY_PATH"):
        return Path(settings["JWT_PUBLIC_KEY_PATH"]).read_text()
    return None
