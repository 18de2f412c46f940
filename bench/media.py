"""The media API (seed 001): token downloads, listings with many files, a 10 MB upload's memory.

Three figures, each beside its anchor on the same server and data:
- `GET /api/v1/media/{id}/download?token=...` of a 100 KB image against `GET /stream/video/...`
  of a 100 KB video, 16 connections, interleaved rounds;
- `GET /api/v1/media?limit=20` for a user with 10,000 files against one with 10;
- the worker's RSS growth during a 10 MB upload (a ceiling, no anchor).
"""

from __future__ import annotations

import io
import statistics
import time
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from bench.client import MIB, TIMEOUT, MultipartFile, bearer, mint_token
from bench.memory import watch_rss
from bench.procs import Processes, Server, start_gunicorn
from bench.results import Figure, summary

SMALL = 100_000
CONNECTIONS = 16
DOWNLOADS_PER_ROUND = 3200
ROUNDS = 3
# Requests per listing owner and round; rounds alternate the owners (load drifts).
LIST_REQUESTS = {"bench-few": 600, "bench-many": 600}
LIST_CLIENTS = 4
MANY, FEW = 10_000, 10
UPLOAD_MIB = 10
RSS_CEILING_MIB = 16
TARGETS = {"download": 0.8, "listing": 0.8}
BOUNDARY = "benchmediaboundary"
# Limits out of the way: the benchmark measures throughput, not the limiter's refusals.
UNLIMITED = {
    "MEDIA_UPLOAD_RATE_LIMIT": "1000000/minute",
    "MEDIA_DOWNLOAD_RATE_LIMIT": "100000000/minute",
}


def _png_of(size: int) -> bytes:
    from tests.media import make_image  # dev-only: needs PyAV

    head = make_image("png")
    return head + bytes(size - len(head))


def _multipart(data: bytes, name: str) -> tuple[bytes, str]:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    body = head + data + f"\r\n--{BOUNDARY}--\r\n".encode()
    return body, f"multipart/form-data; boundary={BOUNDARY}"


def _upload_media(session: requests.Session, base: str, headers: dict, data: bytes) -> dict:
    body, content_type = _multipart(data, "bench.png")
    response = session.post(
        f"{base}/api/v1/media/upload",
        data=io.BytesIO(body),
        headers={**headers, "Content-Type": content_type},
        timeout=TIMEOUT,
    )
    if response.status_code != 201:
        raise RuntimeError(f"media upload: HTTP {response.status_code} {response.text[:300]}")
    return response.json()


def _rate(urls: list[tuple[str, dict]], count: int, clients: int) -> float:
    """Requests/s of `count` GETs spread over `clients` keep-alive sessions."""
    shares = [count // clients] * clients

    def run(share: int) -> None:
        with requests.Session() as session:
            for n in range(share):
                url, headers = urls[n % len(urls)]
                response = session.get(url, headers=headers, timeout=TIMEOUT)
                if response.status_code != 200:
                    raise RuntimeError(f"GET {url}: HTTP {response.status_code}")

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients, thread_name_prefix="media") as pool:
        list(pool.map(run, shares))
    return sum(shares) / (time.perf_counter() - started)


def download_figure(service: Server, secret: str) -> Figure:
    """Token downloads of a 100 KB image beside /stream/video of a 100 KB video."""
    from tests.media import make_video_of_size  # dev-only

    headers = bearer(mint_token(secret, "bench-media"))
    with requests.Session() as session:
        media = _upload_media(session, service.url, headers, _png_of(SMALL))
        detail = session.get(f"{service.url}/api/v1/media/{media['id']}", headers=headers).json()
        body, content_type = _multipart(make_video_of_size(SMALL), "small.mp4")
        session.post(
            f"{service.url}/upload",
            data=body,
            headers={**headers, "Content-Type": content_type},
            timeout=TIMEOUT,
        ).raise_for_status()
    service_urls = [(detail["download_url"], {})]
    anchor_urls = [(f"{service.url}/stream/video/small.mp4", headers)]
    _rate(service_urls, 200, 4)  # warm up both
    _rate(anchor_urls, 200, 4)
    rates: dict[str, list[float]] = {"service": [], "anchor": []}
    for _ in range(ROUNDS):
        rates["anchor"].append(_rate(anchor_urls, DOWNLOADS_PER_ROUND, CONNECTIONS))
        rates["service"].append(_rate(service_urls, DOWNLOADS_PER_ROUND, CONNECTIONS))
    return Figure(
        "media_download",
        f"token download of a 100 KB image ({CONNECTIONS} connections)",
        "req/s",
        statistics.median(rates["service"]),
        statistics.median(rates["anchor"]),
        "/stream/video, 100 KB",
        TARGETS["download"],
        samples={"service": summary(rates["service"]), "anchor": summary(rates["anchor"])},
    )


def seed_media(data_dir: Path, owner: str, count: int) -> None:
    """Write `count` stored media records for `owner` straight into the embedded store."""
    from services.media.records import COLLECTION, MediaRecords
    from services.storage.documents import open_embedded_database

    db = open_embedded_database(data_dir / "metadata", "mediastore")
    try:
        MediaRecords(db[COLLECTION], clock=lambda: datetime.now(UTC)).ensure_indexes()
        start = datetime(2024, 1, 1, tzinfo=UTC)
        batch = []
        for n in range(count):
            media_id = str(uuid.UUID(int=(zlib.crc32(owner.encode()) << 64) + n, version=4))
            batch.append(_record(owner, media_id, start + timedelta(seconds=n)))
            if len(batch) == 1000:
                db[COLLECTION].insert_many(batch)
                batch = []
        if batch:
            db[COLLECTION].insert_many(batch)
    finally:
        db.close()


def _record(owner: str, media_id: str, created: datetime) -> dict:
    return {
        "_id": media_id,
        "owner": owner,
        "kind": "upload",
        "state": "stored",
        "object_name": f"media/bench/{media_id}",
        "original_file_name": "photo.png",
        "file_name": f"photo_{media_id[:8]}.png",
        "file_type": "image",
        "mime_type": "image/png",
        "file_size": 1000,
        "generation": "1",
        "context_type": "ticket_photo",
        "context_id": None,
        "is_public": False,
        "expires_at": None,
        "charged": True,
        "created_at": created,
        "stored_at": created,
    }


def listing_figure(service: Server, secret: str) -> Figure:
    """GET /api/v1/media?limit=20 for the owner of 10,000 files beside the owner of 10."""
    url = f"{service.url}/api/v1/media?limit=20"
    owners = {owner: bearer(mint_token(secret, owner)) for owner in ("bench-few", "bench-many")}
    for headers in owners.values():
        _rate([(url, headers)], 20, 1)  # warm: the first listing makes the total's counter
    rates: dict[str, list[float]] = {owner: [] for owner in owners}
    for _ in range(ROUNDS):
        for owner, headers in owners.items():
            rates[owner].append(_rate([(url, headers)], LIST_REQUESTS[owner], LIST_CLIENTS))
    return Figure(
        "media_listing",
        f"/api/v1/media?limit=20, {MANY:,} files ({LIST_CLIENTS} clients)",
        "req/s",
        statistics.median(rates["bench-many"]),
        statistics.median(rates["bench-few"]),
        f"{FEW} files",
        TARGETS["listing"],
        samples={
            "requests": LIST_REQUESTS,
            "clients": LIST_CLIENTS,
            "many": summary(rates["bench-many"]),
            "few": summary(rates["bench-few"]),
        },
    )


def upload_rss_figure(service: Server, secret: str, work: Path) -> Figure:
    """The worker's RSS growth while a 10 MB image is uploaded, streamed from disk.

    With a Content-Length, as curl -F and browsers send a file (a chunked body costs
    gunicorn's chunked reader a few MiB more).
    """
    headers = bearer(mint_token(secret, "bench-rss"))
    path = work / "big.png"
    path.write_bytes(_png_of(UPLOAD_MIB * MIB))
    growth = []
    with requests.Session() as session:
        for _ in range(3):
            body = MultipartFile(path, "big.png")
            with watch_rss(service.worker_pid()) as rss:
                response = session.post(
                    f"{service.url}/api/v1/media/upload",
                    data=body,
                    headers={**headers, "Content-Type": body.content_type},
                    timeout=TIMEOUT,
                )
            if response.status_code != 201:
                raise RuntimeError(f"10 MB upload: HTTP {response.status_code} {response.text}")
            growth.append(rss.growth / MIB)
            session.delete(
                f"{service.url}/api/v1/media/{response.json()['id']}", headers=headers
            ).raise_for_status()
    return Figure(
        "media_upload_rss",
        f"RSS growth during a {UPLOAD_MIB} MB media upload",
        "MiB",
        max(growth),
        None,
        "",
        RSS_CEILING_MIB,
        at_most=True,
        samples={"runs": growth},
    )


def media_phase(args, work: Path, procs: Processes, env_for, secret: str) -> list[Figure]:
    """Seed the listing users, start one service, measure the three figures."""
    data = work / "media"
    seed_media(data, "bench-few", FEW)
    seed_media(data, "bench-many", MANY)
    env = env_for(data, **UNLIMITED, MAX_FILE_SIZE_MB=str(UPLOAD_MIB))
    service = start_gunicorn(procs, "service-media", "wsgi:app", env)
    try:
        return [
            download_figure(service, secret),
            listing_figure(service, secret),
            upload_rss_figure(service, secret, work),
        ]
    finally:
        procs.stop(service)
