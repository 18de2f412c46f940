"""HTTP transfer rules as plain functions: byte ranges and download names."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

from services.core.errors import RangeNotSatisfiable

# ASCII digits only (RFC 9110 DIGIT); \d would also take other scripts' digits.
_RANGE = re.compile(r"^\s*bytes\s*=\s*([0-9]*)\s*-\s*([0-9]*)\s*$", re.IGNORECASE)

# Quoted-string specials and path separators; runs of dots could climb out of a directory.
_UNSAFE_IN_FALLBACK = frozenset('"\\/')
_DOT_RUNS = re.compile(r"\.{2,}")


@dataclass(frozen=True)
class ByteRange:
    """An inclusive byte range within an object of `size` bytes."""

    start: int
    end: int
    size: int
    open_ended: bool = False

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    @property
    def content_range(self) -> str:
        return f"bytes {self.start}-{self.end}/{self.size}"

    def sliced(self, limit: int) -> ByteRange:
        """Shorten an open-ended range to at most `limit` bytes; others stay as asked."""
        if not self.open_ended or self.length <= limit:
            return self
        return ByteRange(self.start, self.start + limit - 1, self.size, True)


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """Interpret a Range header for an object of `size` bytes.

    None means "send the whole object": no header, another unit, several ranges or a
    malformed value (RFC 9110 lets a server ignore those). A well-formed single range that
    selects nothing raises RangeNotSatisfiable.
    """
    if not header:
        return None
    match = _RANGE.match(header)
    if match is None:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    # Every position is read as at most size + 1, "past the end": a header may carry more
    # digits than int() will convert, and no number beyond the object means more than that.
    beyond = size + 1
    if first == "":
        suffix = _position(last, beyond)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(size)
        return ByteRange(max(0, size - suffix), size - 1, size)
    start = _position(first, beyond)
    end = None if last == "" else _position(last, beyond)
    if end is not None and end < start:
        return None
    if start >= size:
        raise RangeNotSatisfiable(size)
    if end is None:
        return ByteRange(start, size - 1, size, open_ended=True)
    return ByteRange(start, min(end, size - 1), size)


def _position(digits: str, ceiling: int) -> int:
    """The value of a string of ASCII digits, or `ceiling` when it is not smaller."""
    significant = digits.lstrip("0")
    if len(significant) > len(str(ceiling)):
        return ceiling
    return min(int(significant or "0"), ceiling)


def content_disposition(filename: str, kind: str = "attachment") -> str:
    """A Content-Disposition value that survives any file name (RFC 6266 / RFC 5987).

    The UTF-8 `filename*` carries the real name. The ASCII `filename` fallback, for old
    clients, is built with NFKD, which maps look-alikes back to ASCII ("․․／" becomes
    "../"); so it never keeps a path separator, a run of dots or a bare dot.
    """
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    ascii_name = "".join(
        c if c.isprintable() and c not in _UNSAFE_IN_FALLBACK else "_" for c in ascii_name
    )
    ascii_name = _DOT_RUNS.sub(lambda run: "_" * len(run.group()), ascii_name)
    if ascii_name in {"", "."}:
        ascii_name = "download"
    value = f'{kind}; filename="{ascii_name}"'
    if ascii_name != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value
