"""HTTP transfer rules as plain functions: byte ranges and download names."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

from services.core.errors import RangeNotSatisfiable

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


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
    if first == "":
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(size)
        return ByteRange(max(0, size - suffix), size - 1, size)
    start = int(first)
    if last != "" and int(last) < start:
        return None
    if start >= size:
        raise RangeNotSatisfiable(size)
    if last == "":
        return ByteRange(start, size - 1, size, open_ended=True)
    return ByteRange(start, min(int(last), size - 1), size)


def content_disposition(filename: str, kind: str = "attachment") -> str:
    """A Content-Disposition value that survives any file name (RFC 6266 / RFC 5987)."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    ascii_name = "".join(c if c.isprintable() and c not in '"\\' else "_" for c in ascii_name)
    value = f'{kind}; filename="{ascii_name or "download"}"'
    if ascii_name != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value
