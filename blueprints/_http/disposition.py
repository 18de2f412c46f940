"""A form part's Content-Disposition, parsed exactly: a name arrives as sent or is refused."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from services.core.errors import InvalidRequest

MALFORMED = "Malformed multipart body"

_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


@dataclass(frozen=True)
class Disposition:
    """A part's field name, and its file name when it is a file."""

    field: str
    filename: str | None


def parse_disposition(value: bytes) -> Disposition:
    """Parse `form-data; name="..."; filename="..."` exactly, refusing anything ambiguous."""
    kind, _, rest = value.partition(b";")
    if kind.strip().lower() != b"form-data":
        raise InvalidRequest(MALFORMED)
    params = _parameters(rest)
    if "name" not in params:
        raise InvalidRequest("A form part has no name")
    field = _text(params["name"], "Form field name")
    if "filename*" in params:
        return Disposition(field, _extended_filename(params["filename*"]))
    if "filename" in params:
        return Disposition(field, _text(params["filename"], "File name"))
    return Disposition(field, None)


def _parameters(data: bytes) -> dict[str, bytes]:
    """`; key=value` pairs, values token or quoted-string; repeated keys are refused."""
    params: dict[str, bytes] = {}
    pos = 0
    while pos < len(data):
        pos = _skip_spaces(data, pos)
        if pos == len(data):
            break
        if data[pos : pos + 1] == b";":
            pos += 1
            continue
        key = _TOKEN.match(data, pos)
        if key is None or data[key.end() : key.end() + 1] != b"=":
            raise InvalidRequest(MALFORMED)
        name = key.group().decode("ascii").lower()
        value, pos = _value(data, key.end() + 1)
        if name in params:
            raise InvalidRequest(f"Part header repeats '{name}'")
        params[name] = value
        pos = _skip_spaces(data, pos)
        if pos < len(data) and data[pos : pos + 1] != b";":
            raise InvalidRequest("Malformed part header: unexpected text after a value")
    return params


def _value(data: bytes, pos: int) -> tuple[bytes, int]:
    if data[pos : pos + 1] != b'"':
        token = _TOKEN.match(data, pos)
        if token is None:
            raise InvalidRequest(MALFORMED)
        return token.group(), token.end()
    out = bytearray()
    pos += 1
    while pos < len(data):
        byte = data[pos : pos + 1]
        if byte == b'"':
            return bytes(out), pos + 1
        if byte == b"\\":
            # Only \" and \\ are escapes: browsers send a lone backslash as itself, so any
            # other reading would change the name without telling anyone.
            escaped = data[pos + 1 : pos + 2]
            if escaped not in (b'"', b"\\"):
                raise InvalidRequest("Malformed part header: a backslash escapes nothing")
            out += escaped
            pos += 2
            continue
        out += byte
        pos += 1
    raise InvalidRequest("Malformed part header: unterminated quoted value")


def _skip_spaces(data: bytes, pos: int) -> int:
    while pos < len(data) and data[pos] in b" \t":
        pos += 1
    return pos


def _text(raw: bytes, what: str) -> str:
    """Header text as UTF-8 (what browsers and curl send), refused when it is not."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidRequest(f"{what} is not valid UTF-8") from error


def _extended_filename(raw: bytes) -> str:
    """An RFC 5987 `filename*=UTF-8''percent-encoded` value."""
    charset, quote, rest = raw.partition(b"'")
    _language, quote2, encoded = rest.partition(b"'")
    if not (quote and quote2) or charset.lower() != b"utf-8":
        raise InvalidRequest("Malformed part header: filename* must be UTF-8''...")
    return _text(unquote_to_bytes(encoded), "File name")
