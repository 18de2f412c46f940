"""A small HTTP/1.1 load generator (wrk is not installed): asyncio, keep-alive connections.

Each connection sends one GET, reads the whole answer (Content-Length or chunked), then
sends the next, as wrk does without pipelining. Per request it costs the client a few tens
of microseconds, far less than `requests` (about 0.5 ms), so on a 2-core machine the
server, not the client, is what gets measured.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class LoadResult:
    """How many requests finished, in how long, and which statuses they got."""

    requests: int
    seconds: float
    statuses: dict[int, int]
    body_bytes: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def run_load(
    url: str,
    requests: int,
    connections: int,
    headers_for: Callable[[int], dict[str, str]] | None = None,
    check: Callable[[int, bytes], None] | None = None,
) -> LoadResult:
    """GET `url` `requests` times over `connections` keep-alive connections.

    `headers_for(i)` gives the i-th request's extra headers (say, a token per user);
    `check(status, body)` may raise to reject an answer (called on every 50th one).
    """
    return asyncio.run(_load(url, requests, connections, headers_for, check))


async def _load(url, total, connections, headers_for, check) -> LoadResult:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    host, port = parts.hostname, parts.port or 80
    counter = iter(range(total))
    statuses: dict[int, int] = {}
    received = [0]

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for i in counter:
                extra = headers_for(i) if headers_for else {}
                writer.write(_request(target, f"{host}:{port}", extra))
                status, body = await _response(reader)
                statuses[status] = statuses.get(status, 0) + 1
                received[0] += len(body)
                if check is not None and i % 50 == 0:
                    check(status, body)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    seconds = time.perf_counter() - started
    return LoadResult(total, seconds, statuses, received[0])


def _request(target: str, host: str, headers: dict[str, str]) -> bytes:
    lines = [f"GET {target} HTTP/1.1", f"Host: {host}", "Accept: */*"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers = {}
    for line in header_lines:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        return status, await reader.readexactly(int(headers["content-length"]))
    if headers.get("transfer-encoding", "").lower() == "chunked":
        return status, await _chunked(reader)
    raise RuntimeError(f"answer without a length: {status_line}")


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return bytes(body)
        body += await reader.readexactly(size)
        await reader.readexactly(2)


def rates(results: Sequence[LoadResult]) -> list[float]:
    """Requests/s of each result."""
    return [result.rate for result in results]
