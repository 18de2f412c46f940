"""One place for byte ranges, validators and Cloud Run's response-length rules."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from flask import Response, current_app, request
from werkzeug.wsgi import wrap_file

from services.core.transfer import ByteRange, parse_range
from services.storage.objects.base import FileRange

Reader = Callable[[int, int], Iterator[bytes]]


def send_object(
    *,
    size: int,
    content_type: str,
    etag: str,
    read: Reader,
    disposition: str | None = None,
    slice_open_ranges: bool = False,
    cache_control: str = "private, no-cache",
) -> Response:
    """Answer GET/HEAD for a stored object: 200, 206, 304 or 416 (via RangeNotSatisfiable).

    Bodies stream from storage in bounded chunks. Cloud Run cuts responses over 32 MiB
    that declare a Content-Length, so longer bodies go out chunked. With
    `slice_open_ranges` (the streaming endpoints), an open-ended range (what video players
    send) is answered with a bounded slice the player continues from; otherwise every
    range is served as asked.
    """
    headers = {"Accept-Ranges": "bytes", "ETag": etag, "Cache-Control": cache_control}
    if disposition:
        headers["Content-Disposition"] = disposition
    if etag in _etags(request.headers.get("If-None-Match")):
        return Response(status=304, headers=headers)
    byte_range = _requested_range(size, etag)
    if byte_range is not None:
        if slice_open_ranges:
            byte_range = byte_range.sliced(current_app.config["STREAM_SLICE_BYTES"])
        headers["Content-Range"] = byte_range.content_range
        start, length, status = byte_range.start, byte_range.length, 206
    else:
        start, length, status = 0, size, 200
    if length <= current_app.config["RESPONSE_LENGTH_LIMIT_BYTES"]:
        headers["Content-Length"] = str(length)
    if request.method == "HEAD" or length == 0:
        body: Iterator[bytes] = iter(())
    else:
        body = _body(read(start, start + length - 1), to_the_end=start + length == size)
    response = Response(
        body, status=status, headers=headers, content_type=content_type, direct_passthrough=True
    )
    # The length is ours to declare (or to leave out, so the body goes out chunked).
    response.automatically_set_content_length = False
    return response


def _requested_range(size: int, etag: str) -> ByteRange | None:
    """The Range to honour: none when absent, malformed, or If-Range names another version."""
    if_range = request.headers.get("If-Range")
    if if_range is not None and if_range.strip() != etag:
        return None
    return parse_range(request.headers.get("Range"), size)


def _etags(header: str | None) -> set[str]:
    if not header:
        return set()
    return {tag.strip().removeprefix("W/") for tag in header.split(",")}


def _body(chunks: Iterator[bytes], *, to_the_end: bool) -> Iterator[bytes]:
    """The response body: a local file the server may sendfile(), else primed chunks.

    A file goes to the server only when the body runs to the end of the file, because a
    WSGI file wrapper may send everything from the offset on. gunicorn then sends it from
    the kernel, chunk framing included, with no copy through Python.
    """
    if isinstance(chunks, FileRange) and to_the_end:
        return wrap_file(request.environ, chunks.open(), buffer_size=chunks.chunk_bytes)
    return _primed(chunks)


def _primed(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Read the first chunk now, so a missing object or outage becomes an error response."""
    first = next(chunks, b"")

    def body() -> Iterator[bytes]:
        try:
            yield first
            yield from chunks
        finally:
            close = getattr(chunks, "close", None)
            if close:
                close()

    return body()
