"""The entity API (seed 004): uploads beside the video API's, listings of many beside few."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median

import jwt
import requests

from bench.client import MIB, TIMEOUT, MultipartFile
from bench.load import run_load
from bench.memory import watch_rss
from bench.procs import Server
from bench.results import Figure, summary

MB = 1_000_000
RSS_LIMIT_MIB = 64
WARM_UP = 10
LISTING_ROUNDS = 5  # alternating rounds per listing; the figure is their median
AFTER_CHANGE_REQUESTS = 100  # searches per round, each after a PATCH (one client)
BATCH = 1000
# The listings measured: the plain one, past versions, and a search every seeded label matches.
LISTINGS = {
    "plain": "page_size=20",
    "version": "page_size=20&version=1",
    "search": "page_size=20&search_query=photo",
}


def writer_token(secret: str, user_id: str = "bench-writer") -> str:
    """An HS256 token with the entity API's write permission (and the video API's needs)."""
    claims = {
        "sub": user_id,
        "exp": int(time.time() + 6 * 3600),
        "type": "access",
        "permissions": ["media_store_write", "media_store_read"],
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def entity_form(path: Path) -> MultipartFile:
    """POST /entity/'s multipart body: is_collection=false, then the file as `image`, from disk."""
    return MultipartFile(path, "bench.mp4", field="image", fields={"is_collection": "false"})


def _post(session: requests.Session, url: str, body, headers: dict) -> tuple[dict, float]:
    wanted = {**headers, "Content-Type": body.content_type}
    started = time.perf_counter()
    response = session.post(url, data=body, headers=wanted, timeout=TIMEOUT)
    seconds = time.perf_counter() - started
    if response.status_code not in (200, 201):
        raise RuntimeError(f"POST {url}: HTTP {response.status_code} {response.text[:300]}")
    return response.json(), seconds


def upload_vs_video_api(
    service: Server, headers: dict, path: Path, runs: int, target: float
) -> tuple[Figure, Figure]:
    """Median MB/s of POST /entity/ beside POST /upload of the same file, interleaved.

    Both go to the same server. Each stored copy is deleted (untimed) before the next run,
    so every upload writes a new file and the entity API never sees its own MD5 again.
    Returns the throughput figure and the worker's largest RSS growth during an entity upload.
    """

    size = path.stat().st_size
    rates: dict[str, list[float]] = {"entity": [], "upload": []}
    growth: list[float] = []
    with requests.Session() as session:
        for run in range(runs):
            os.sync()
            answer, seconds = _post(
                session, f"{service.url}/upload", MultipartFile(path, f"bench-{run}.mp4"), headers
            )
            rates["upload"].append(size / seconds / MB)
            gone = {"filename": f"bench-{run}.mp4"}
            _untimed(
                session.delete(
                    f"{service.url}/delete-file", headers=headers, json=gone, timeout=TIMEOUT
                )
            )
            os.sync()
            with watch_rss(service.worker_pid()) as rss:
                item, seconds = _post(session, f"{service.url}/entity/", entity_form(path), headers)
            if item.get("file_size") != size or item.get("type") != "video":
                raise RuntimeError(f"entity upload stored {item}")
            rates["entity"].append(size / seconds / MB)
            growth.append(rss.growth / MIB)
            _untimed(
                session.delete(
                    f"{service.url}/entity/{item['id']}", headers=headers, timeout=TIMEOUT
                )
            )
    throughput = Figure(
        "entity_upload",
        f"POST /entity/ {size // MIB} MiB video (embedded store)",
        "MB/s",
        median(rates["entity"]),
        median(rates["upload"]),
        "POST /upload, same file",
        target,
        samples={"entity": summary(rates["entity"]), "upload": summary(rates["upload"])},
    )
    memory = Figure(
        "entity_upload_rss",
        f"RSS growth during POST /entity/ of {size // MIB} MiB",
        "MiB",
        max(growth),
        None,
        "",
        RSS_LIMIT_MIB,
        at_most=True,
        samples={"runs": growth},
    )
    return throughput, memory


def _untimed(response: requests.Response) -> None:
    if response.status_code != 200:
        raise RuntimeError(f"clean-up: HTTP {response.status_code} {response.text[:300]}")


def seed_entities(data_dir: Path, count: int, database: str = "mediastore") -> None:
    """Write `count` image entities (each with its version 1) through the service's records."""
    from services.entities.records import EntityRecords
    from services.storage.documents import open_embedded_database

    db = open_embedded_database(data_dir / "metadata", database)
    try:
        records = EntityRecords(db)
        records.ensure_indexes()
        for start in range(1, count + 1, BATCH):
            docs = [_entity(i) for i in range(start, min(start + BATCH, count + 1))]
            records.entities.insert_many(docs)
            records.versions.insert_many([_version(doc) for doc in docs])
        records.counters.insert_one({"_id": "entities", "seq": count})
    finally:
        db.close()


def _entity(number: int) -> dict:
    """An entity document as the service writes it (with its searched copies)."""
    from services.entities.records import folded

    added = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=number)
    md5 = f"{number:032x}"
    doc = {
        "_id": number,
        "is_collection": False,
        "label": f"photo {number}",
        "description": "seeded for the benchmark",
        "parent_id": None,
        "added_date": added,
        "updated_date": added,
        "create_date": None,
        "file_size": 1_000_000 + number,
        "height": 1080,
        "width": 1920,
        "duration": None,
        "mime_type": "image/jpeg",
        "type": "image",
        "extension": "jpg",
        "md5": md5,
        "file_path": f"{added:%Y/%m/%d}/{md5}.jpg",
        "is_deleted": False,
        "added_by": "bench",
        "updated_by": "bench",
        "version": 1,
        "change": "create",
        "object_name": f"entities/seed-{number}",
        "files": {md5: f"entities/seed-{number}"},
        "purging": False,
        "pending_version": False,
    }
    return {**doc, **folded(doc)}


def _version(doc: dict) -> dict:
    skip = {"_id", "files", "purging", "pending_version"}
    return {
        **{k: v for k, v in doc.items() if k not in skip},
        "_id": f"{doc['_id']}:1",
        "entity_id": doc["_id"],
    }


def search_after_change_rate(base_url: str, headers: dict, count: int) -> float:
    """Searches/s when each comes right after a change of an entity (timed: the search only).

    A change ends the count the store keeps for a search, so each of these counts afresh.
    """
    url = f"{base_url}/entity/?{LISTINGS['search']}"
    seconds = 0.0
    with requests.Session() as session:
        for number in range(count + WARM_UP):
            label = {"body": {"label": f"photo {number % 10 + 1}"}}
            changed = session.patch(f"{base_url}/entity/1", json=label, headers=headers)
            _untimed(changed)
            started = time.perf_counter()
            response = session.get(url, timeout=TIMEOUT)
            if number >= WARM_UP:
                seconds += time.perf_counter() - started
            if response.status_code != 200 or not response.json()["items"]:
                raise RuntimeError(f"GET {url}: HTTP {response.status_code}")
    return count / seconds


def listing_rate(
    server: Server, query: str, count: int, connections: int, expected: int
) -> tuple[float, float]:
    """(requests/s, server CPU microseconds per request) of `count` GET /entity/?{query}.

    Sent by bench/load.py over `connections` keep-alive connections. A `requests` client
    costs about half a millisecond per request and parses every JSON answer; on two cores
    that client shares the machine with the server, and a 20-item page costs it twice what
    a 10-item page does, so it measured its own parsing as much as the service.
    """
    url = f"{server.url}/entity/?{query}"

    def check(status: int, body: bytes) -> None:
        if status != 200 or len(json.loads(body)["items"]) != expected:
            raise RuntimeError(f"GET {url}: HTTP {status}, not a page of {expected}")

    run_load(url, WARM_UP, connections, check=check)
    before = server.cpu_seconds()
    result = run_load(url, count, connections, check=check)
    if set(result.statuses) != {200}:
        raise RuntimeError(f"GET {url}: statuses {result.statuses}")
    return result.rate, (server.cpu_seconds() - before) / count * 1e6
