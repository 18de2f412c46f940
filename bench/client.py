"""The client side: tokens, timed downloads, range bursts and streamed multipart uploads."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jwt
import requests

MIB = 1024 * 1024
READ_BYTES = MIB
TIMEOUT = (10.0, 120.0)  # connect, read: every request ends by itself


def mint_token(secret: str, user_id: str, hours: float = 6.0) -> str:
    """An HS256 access token for `user_id`, as the service expects."""
    claims = {"sub": user_id, "exp": int(time.time() + hours * 3600), "type": "access"}
    return jwt.encode(claims, secret, algorithm="HS256")


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


def download(session: requests.Session, url: str, headers: dict | None = None) -> tuple[int, float]:
    """GET the whole body in 1 MiB reads; return (bytes, seconds)."""
    started = time.perf_counter()
    with session.get(url, headers=headers, stream=True, timeout=TIMEOUT) as response:
        if response.status_code != 200:
            raise RuntimeError(f"GET {url}: HTTP {response.status_code} {response.text[:300]}")
        received = sum(len(chunk) for chunk in response.iter_content(READ_BYTES))
    return received, time.perf_counter() - started


def fetch_ranges(
    url: str, headers: dict, ranges: Sequence[tuple[int, int]], clients: int
) -> tuple[int, float]:
    """Request every inclusive range with `clients` concurrent sessions; (bytes, seconds)."""
    shares = [ranges[i::clients] for i in range(clients)]

    def run(share: Sequence[tuple[int, int]]) -> int:
        total = 0
        with requests.Session() as session:
            for start, end in share:
                total += _fetch_range(session, url, headers, start, end)
        return total

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients, thread_name_prefix="range") as pool:
        received = sum(pool.map(run, shares))
    return received, time.perf_counter() - started


def _fetch_range(session: requests.Session, url: str, headers: dict, start: int, end: int) -> int:
    wanted = {**headers, "Range": f"bytes={start}-{end}"}
    with session.get(url, headers=wanted, stream=True, timeout=TIMEOUT) as response:
        if response.status_code != 206:
            raise RuntimeError(f"range GET {url}: HTTP {response.status_code}")
        received = sum(len(chunk) for chunk in response.iter_content(READ_BYTES))
    if received != end - start + 1:
        raise RuntimeError(f"range GET {url}: {received} bytes for {start}-{end}")
    return received


class MultipartFile:
    """A multipart/form-data body: plain `fields`, then one file field, read from disk 1 MiB
    at a time.

    It has a length, so requests sends Content-Length instead of chunking, and it is
    iterable, so the body streams and the client never holds the file in memory.
    """

    def __init__(
        self, path: Path, filename: str, field: str = "file", fields: dict[str, str] | None = None
    ) -> None:
        self.path = path
        self.boundary = uuid.uuid4().hex
        plain = "".join(
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            for name, value in (fields or {}).items()
        )
        self.head = (
            f"{plain}--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        self.tail = f"\r\n--{self.boundary}--\r\n".encode()

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return len(self.head) + self.path.stat().st_size + len(self.tail)

    def __iter__(self) -> Iterator[bytes]:
        yield self.head
        with open(self.path, "rb") as file:
            while chunk := file.read(READ_BYTES):
                yield chunk
        yield self.tail


def upload(
    session: requests.Session, url: str, path: Path, filename: str, headers: dict | None = None
) -> tuple[dict, float]:
    """POST the file as multipart field `file`; return (JSON answer, seconds)."""
    body = MultipartFile(path, filename)
    wanted = {**(headers or {}), "Content-Type": body.content_type}
    started = time.perf_counter()
    response = session.post(url, data=body, headers=wanted, timeout=TIMEOUT)
    seconds = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"POST {url}: HTTP {response.status_code} {response.text[:300]}")
    return response.json(), seconds
