"""Stream one file field out of a multipart/form-data body without buffering it."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from streaming_form_data import StreamingFormDataParser
from streaming_form_data.parser import ParseFailedException
from streaming_form_data.targets import BaseTarget

from services.core.errors import InvalidRequest

READ_BYTES = 1024 * 1024


@dataclass
class FilePart:
    """The file field's name as the client sent it, and its bytes as they arrive."""

    filename: str
    chunks: Iterator[bytes]


class _Collector(BaseTarget):
    """Receives the parser's pushes; the generator below pulls them out in order."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: deque[bytes] = deque()
        self.starts = 0
        self.finished = False

    def on_start(self) -> None:
        self.starts += 1
        if self.starts > 1:
            raise InvalidRequest("Only one file may be uploaded per request")

    def on_data_received(self, chunk: bytes) -> None:
        self.parts.append(chunk)

    def on_finish(self) -> None:
        self.finished = True


def open_file_field(stream: IO[bytes], content_type: str, field: str = "file") -> FilePart | None:
    """Parse until the file field begins; None when the body has no such field."""
    try:
        parser = StreamingFormDataParser(headers={"Content-Type": content_type})
    except ParseFailedException:
        return None
    target = _Collector()
    parser.register(field, target)

    def feed() -> bool:
        data = stream.read(READ_BYTES)
        if not data:
            return False
        try:
            parser.data_received(data)
        except ParseFailedException as error:
            raise InvalidRequest("Malformed multipart body") from error
        return True

    while not target.starts:
        if not feed():
            return None

    def chunks() -> Iterator[bytes]:
        while True:
            while target.parts:
                yield target.parts.popleft()
            if target.finished:
                return
            if not feed():
                raise InvalidRequest("Upload ended before the file was complete")

    return FilePart(target.multipart_filename or "", chunks())


class _PartEvents(BaseTarget):
    """Receives the parser's pushes for a repeatable field as start/data/end events."""

    def __init__(self) -> None:
        super().__init__()
        self.events: deque[tuple[str, object]] = deque()

    def on_start(self) -> None:
        self.events.append(("start", self.multipart_filename or ""))

    def on_data_received(self, chunk: bytes) -> None:
        if chunk:
            self.events.append(("data", chunk))

    def on_finish(self) -> None:
        self.events.append(("end", None))


def iter_file_fields(
    stream: IO[bytes], content_type: str, field: str = "files"
) -> Iterator[FilePart]:
    """Yield each part of a repeatable file field in turn, streaming.

    A part's chunks are read from the body as the caller pulls them; whatever the caller
    leaves unread is skipped when the next part is requested. Memory holds at most one
    read of the body. A body that is not multipart yields nothing.
    """
    try:
        parser = StreamingFormDataParser(headers={"Content-Type": content_type})
    except ParseFailedException:
        return
    target = _PartEvents()
    parser.register(field, target)
    ended = False

    def next_event() -> tuple[str, object] | None:
        nonlocal ended
        while not target.events:
            if ended:
                return None
            data = stream.read(READ_BYTES)
            if not data:
                ended = True
                continue
            try:
                parser.data_received(data)
            except ParseFailedException as error:
                raise InvalidRequest("Malformed multipart body") from error
        return target.events.popleft()

    def chunks() -> Iterator[bytes]:
        while True:
            event = next_event()
            if event is None:
                raise InvalidRequest("Upload ended before the file was complete")
            kind, value = event
            if kind == "end":
                return
            yield value  # type: ignore[misc]

    while True:
        event = next_event()
        if event is None:
            return
        if event[0] != "start":
            continue  # the unread rest of the previous part
        part_chunks = chunks()
        yield FilePart(str(event[1]), part_chunks)
        for _ in part_chunks:  # skip whatever the caller did not read
            pass
