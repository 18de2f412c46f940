"""The one multipart/form-data parser: every part seen in order, files streamed, names kept exact.

Written here rather than taken from a library because the libraries at hand decode a part's
Content-Disposition with a mail-header parser that silently rewrites file names (`a\\b.mp4`
becomes `ab.mp4`, an unescaped quote or a CR/LF cuts the name short), and skip parts nobody
asked for. Here every part is either expected or refused, and a file name arrives exactly as
sent or the request is refused. Bodies are searched with bytes.find, so the parser moves
bytes at memory speed and holds at most one read of the body plus one delimiter.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import IO

from blueprints._http.disposition import MALFORMED, Disposition, parse_disposition
from services.core.errors import InvalidRequest

READ_BYTES = 1024 * 1024
MAX_HEADER_BYTES = 16 * 1024
TRUNCATED = "Upload ended before the file was complete"

_BOUNDARY = re.compile(r'boundary=(?:"([^"]{1,70})"|([^\s;,"]{1,70}))', re.IGNORECASE)


@dataclass
class FilePart:
    """One file part: its field, the client's name for the file, and its bytes as they arrive.

    The chunks are bytes-like: memoryview slices of the parser's read buffer, valid for as
    long as the consumer holds them.
    """

    field: str
    filename: str
    chunks: Iterator[bytes]


def boundary_of(content_type: str) -> bytes | None:
    """The boundary of a multipart/form-data Content-Type, or None for anything else."""
    if not content_type.lower().lstrip().startswith("multipart/form-data"):
        return None
    match = _BOUNDARY.search(content_type)
    return (match.group(1) or match.group(2)).encode("latin-1") if match else None


class MultipartForm:
    """One multipart/form-data body, parsed as it is read.

    `files` names the file fields and how many parts each may have (None: any number);
    `fields` names the text fields and the most bytes each may hold. Any other part, a
    second value of a text field, or one file too many is refused with InvalidRequest.
    Text fields are collected into `values` as they pass. The last file part's chunks end
    only once the whole body has been parsed, so a caller that stores a file before
    committing it has seen every part, wherever the client put them.
    """

    def __init__(
        self,
        stream: IO[bytes],
        content_type: str,
        *,
        files: Mapping[str, int | None],
        fields: Mapping[str, int] | None = None,
        read_bytes: int = READ_BYTES,
    ) -> None:
        self.values: dict[str, str] = {}
        self._stream = stream
        self._boundary = boundary_of(content_type or "")
        self._files = dict(files)
        self._fields = dict(fields or {})
        self._read_bytes = read_bytes
        self._counts: dict[str, int] = {}
        self._buffer = b""
        self._eof = False
        self._next: Disposition | None = None
        self._found: Disposition | None = None  # a file part a look-ahead already admitted
        self._done = False

    @property
    def is_multipart(self) -> bool:
        """False when the request did not declare a multipart/form-data body with a boundary."""
        return self._boundary is not None

    def file_parts(self) -> Iterator[FilePart]:
        """Yield each file part in body order; its chunks must be read before the next part."""
        if self._boundary is None:
            return
        self._delimiter = b"\r\n--" + self._boundary
        self._open()
        while not self._done:
            part = self._advance_to_file()
            if part is None:
                return
            chunks = self._body_then_look_ahead(part)
            yield FilePart(part.field, part.filename or "", chunks)
            for _ in chunks:  # whatever the caller left unread
                pass

    # The body, read in bounded pieces.

    def _fill(self) -> bool:
        if self._eof:
            return False
        data = self._stream.read(self._read_bytes)
        if not data:
            self._eof = True
            return False
        # Most reads start with an empty buffer or a delimiter's worth of bytes: avoid
        # copying a whole read just to prepend nothing.
        self._buffer = self._buffer + data if self._buffer else data
        return True

    def _take_line(self, limit: int) -> bytes:
        """Bytes up to the next CRLF (consumed), within `limit` bytes."""
        while True:
            end = self._buffer.find(b"\r\n")
            if end >= 0:
                line, self._buffer = self._buffer[:end], self._buffer[end + 2 :]
                return line
            if len(self._buffer) > limit:
                raise InvalidRequest("Part headers are too large")
            if not self._fill():
                raise InvalidRequest(TRUNCATED)

    def _open(self) -> None:
        """Skip the preamble up to the first delimiter."""
        first = b"--" + self._boundary
        while True:
            at = self._buffer.find(first)
            if at >= 0 and (at == 0 or self._buffer[at - 2 : at] == b"\r\n"):
                self._buffer = self._buffer[at + len(first) :]
                self._after_delimiter()
                return
            if len(self._buffer) > MAX_HEADER_BYTES:
                raise InvalidRequest(MALFORMED)
            if not self._fill():
                raise InvalidRequest(MALFORMED)

    def _after_delimiter(self) -> None:
        """Read what follows a delimiter: `--` ends the body, CRLF starts the next part."""
        while len(self._buffer) < 2 and self._fill():
            pass
        marker, self._buffer = self._buffer[:2], self._buffer[2:]
        if marker == b"--":
            self._done = True
            self._buffer = b""
        elif marker == b"\r\n":
            self._next = self._read_headers()
        else:
            raise InvalidRequest(TRUNCATED if not marker else MALFORMED)

    def _read_headers(self) -> Disposition:
        disposition = None
        budget = MAX_HEADER_BYTES
        while (line := self._take_line(budget)) != b"":
            budget -= len(line) + 2
            if budget <= 0:
                raise InvalidRequest("Part headers are too large")
            name, colon, value = line.partition(b":")
            if not colon:
                raise InvalidRequest(MALFORMED)
            if name.strip().lower() == b"content-disposition":
                disposition = value.strip()
        if disposition is None:
            raise InvalidRequest("A form part has no Content-Disposition")
        return parse_disposition(disposition)

    # Parts.

    def _advance_to_file(self) -> Disposition | None:
        """Collect text fields until a file part starts (returned) or the body ends (None)."""
        if self._found is not None:
            found, self._found = self._found, None
            return found
        while not self._done:
            part, self._next = self._next, None
            if part is None:
                raise InvalidRequest(MALFORMED)
            self._admit(part)
            if part.field in self._files:
                return part
            self.values[part.field] = self._read_field(part.field)
        return None

    def _admit(self, part: Disposition) -> None:
        """Refuse a part nobody asked for, a repeated text field, or one file too many."""
        count = self._counts[part.field] = self._counts.get(part.field, 0) + 1
        if part.field in self._files:
            if part.filename is None:
                raise InvalidRequest(f"Form field '{part.field}' must be a file")
            limit = self._files[part.field]
            if limit is not None and count > limit:
                plural = "file" if limit == 1 else "files"
                raise InvalidRequest(f"At most {limit} {plural} in form field '{part.field}'")
        elif part.field in self._fields:
            if part.filename is not None:
                raise InvalidRequest(f"Form field '{part.field}' must not be a file")
            if count > 1:
                raise InvalidRequest(f"Form field '{part.field}' is repeated")
        else:
            raise InvalidRequest(f"Unexpected form field '{part.field}'")

    def _read_field(self, field: str) -> str:
        limit = self._fields[field]
        data = b"".join(self._part_body(limit=limit + 1))
        if len(data) > limit:
            raise InvalidRequest(f"Form field '{field}' is longer than {limit} bytes")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InvalidRequest(f"Form field '{field}' is not valid UTF-8") from error

    def _body_then_look_ahead(self, part: Disposition) -> Iterator[bytes]:
        """The part's bytes; at its end, parse on until the next file part or the body's end."""
        yield from self._part_body()
        self._found = self._advance_to_file()

    def _part_body(self, limit: int | None = None) -> Iterator[bytes]:
        """Yield a part's bytes up to the next delimiter, then read past the delimiter.

        The buffer is searched where it stands and handed on in memoryview slices; a new
        read is not joined to the few bytes carried over (a delimiter may straddle reads)
        unless the delimiter really starts in them. At upload sizes those copies, not the
        search, would set the speed.
        """
        keep = len(self._delimiter) - 1
        sent = 0
        while True:
            at = self._buffer.find(self._delimiter)
            if at >= 0:
                view = memoryview(self._buffer)
                self._buffer = self._buffer[at + len(self._delimiter) :]
                if at:
                    yield view[:at]
                self._after_delimiter()
                return
            if len(self._buffer) > keep:
                view = memoryview(self._buffer)
                self._buffer = bytes(view[-keep:])
                sent += len(view) - keep
                yield view[:-keep]
                if limit is not None and sent >= limit:
                    return
            data = self._read()
            carried = self._buffer
            if (
                carried
                and (
                    len(data) < keep  # too short to tell: join and look again
                    or 0 <= (carried + data[:keep]).find(self._delimiter) < len(carried)
                )
            ):
                self._buffer = carried + data  # a delimiter may start in the carried bytes
                continue
            if carried:
                sent += len(carried)
                yield carried
            self._buffer = data

    def _read(self) -> bytes:
        """The next read of the body, which must not have ended."""
        data = b"" if self._eof else self._stream.read(self._read_bytes)
        if not data:
            self._eof = True
            raise InvalidRequest(TRUNCATED)
        return data
