"""User-supplied file names: what is accepted, and how object names are derived."""

from __future__ import annotations

import hashlib
import unicodedata
import uuid

from services.core.errors import InvalidRequest

MAX_NAME_BYTES = 255


def check_filename(name: str | None) -> str:
    """Return the name unchanged if it is acceptable; raise InvalidRequest otherwise.

    Names are kept exactly as given (Unicode round-trips); they are only ever metadata,
    never a path, but separators and control characters are refused so that a name means
    the same thing in a URL, a header and a listing.
    """
    if not name or name in {".", ".."}:
        raise InvalidRequest("Invalid filename")
    if "/" in name or "\\" in name:
        raise InvalidRequest("Invalid filename: path separators are not allowed")
    if any(unicodedata.category(ch) in {"Cc", "Cs"} for ch in name):
        raise InvalidRequest("Invalid filename: control characters are not allowed")
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise InvalidRequest(f"Invalid filename: longer than {MAX_NAME_BYTES} bytes")
    return name


def new_object_name(prefix: str, owner: str) -> str:
    """A fresh object name that depends on the owner but never on the user's file name."""
    owner_key = hashlib.sha256(owner.encode("utf-8")).hexdigest()[:32]
    return f"{prefix}/{owner_key}/{uuid.uuid4().hex}"
