"""User-supplied file names: what is accepted, and how object names are derived."""

from __future__ import annotations

import hashlib
import unicodedata
import uuid

from services.core.errors import InvalidRequest

MAX_NAME_BYTES = 255

# Bidi controls: they reorder how the text around them is shown ("gpj.exe" read backwards).
TEXT_DIRECTION = frozenset(
    [*map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))]
    + ["\u200e", "\u200f", "\u061c"]
)
# Invisible although not format characters (Unicode's Default_Ignorable_Code_Point outside
# category Cf): fillers, the grapheme joiner, and variation selectors other than the two
# that choose text or emoji presentation, which keep "❤️" usable.
_INVISIBLE_RANGES = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180D),
    (0x180F, 0x180F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0D),
    (0xFFA0, 0xFFA0),
    (0xE0100, 0xE01EF),
)
# Format characters (zero-width space and joiners, BOM, soft hyphen, tags, ...) and the
# line and paragraph separators.
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Zl", "Zp"})


def check_filename(name: str | None) -> str:
    """Return the name in Unicode NFC if it is acceptable; raise InvalidRequest otherwise.

    Names are only ever metadata, never a path. They are stored in NFC so that the
    composed and decomposed spellings of one name (macOS sends the latter) are one name.
    Separators and control characters are refused so that a name means the same thing in a
    URL, a header and a listing, and invisible or text-direction characters so that two
    names that look the same are the same. Nothing is ever dropped or replaced: a name is
    stored as given, or refused with the reason.
    """
    if not name:
        raise InvalidRequest("Invalid filename")
    name = unicodedata.normalize("NFC", name)
    if name in {".", ".."}:
        raise InvalidRequest("Invalid filename")
    if "/" in name or "\\" in name:
        raise InvalidRequest("Invalid filename: path separators are not allowed")
    if any(unicodedata.category(ch) in {"Cc", "Cs"} for ch in name):
        raise InvalidRequest("Invalid filename: control characters are not allowed")
    hidden = next((ch for ch in name if _hides_text(ch)), None)
    if hidden is not None:
        raise InvalidRequest(f"Invalid filename: {_describe(hidden)}")
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise InvalidRequest(f"Invalid filename: longer than {MAX_NAME_BYTES} bytes")
    return name


def _hides_text(ch: str) -> bool:
    if ch in TEXT_DIRECTION or unicodedata.category(ch) in _INVISIBLE_CATEGORIES:
        return True
    point = ord(ch)
    return any(low <= point <= high for low, high in _INVISIBLE_RANGES)


def _describe(ch: str) -> str:
    """Why a character is refused, naming it (U+202E RIGHT-TO-LEFT OVERRIDE)."""
    label = f"U+{ord(ch):04X} {unicodedata.name(ch, '')}".rstrip()
    if ch in TEXT_DIRECTION:
        return f"{label} changes the direction of the text around it, so it is not allowed"
    return f"{label} is invisible, so it is not allowed"


def new_object_name(prefix: str, owner: str) -> str:
    """A fresh object name that depends on the owner but never on the user's file name."""
    owner_key = hashlib.sha256(owner.encode("utf-8")).hexdigest()[:32]
    return f"{prefix}/{owner_key}/{uuid.uuid4().hex}"
