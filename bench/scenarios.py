"""The phases of a run: which servers each starts, on what data, and what it measures."""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import requests

from bench import entities, small, status, streaming, uploads
from bench import media as media_bench
from bench.client import MIB, TIMEOUT, bearer, mint_token, upload
from bench.procs import (
    Processes,
    Server,
    start_fake_gcs,
    start_gunicorn,
    start_static,
    start_tcp_forwarder,
)
from bench.results import Figure, summary
from bench.seed import seed_users
from bench.streaming import Source
from services.storage.objects.local_format import read_record

SECRET = secrets.token_urlsafe(32)
USER = "bench-streamer"
BUCKET = "mediastore-bench"
STREAMED = "stream.mp4"
LIMIT = str(64 * 1024 * MIB)  # quota, daily bandwidth and upload size: out of the way
TARGETS = {
    "full": 0.9,
    "ranges": 0.25,
    "upload": 1.5,
    "status": 0.8,
    "entity_upload": 0.7,
    "entity_listing": 0.8,
}

Media = dict[str, Path]


def write_media(work: Path, args: argparse.Namespace) -> Media:
    """Write the streamed and the uploaded video: real MP4s of exact size."""
    from tests.media import write_video_of_size  # dev-only: needs PyAV

    media = {"stream": work / "stream-source.mp4", "upload": work / "upload-source.mp4"}
    write_video_of_size(media["stream"], args.size_mib * MIB)
    write_video_of_size(media["upload"], args.upload_mib * MIB)
    return media


def service_env(args, data_dir: Path, **extra: str) -> dict[str, str]:
    """The service's environment for a run: development mode, our secret, limits raised."""
    return {
        "APP_ENV": "development",
        "DATA_DIR": str(data_dir),
        "JWT_SECRET_KEY": SECRET,
        "DEFAULT_STORAGE_QUOTA_BYTES": LIMIT,
        "DAILY_BANDWIDTH_LIMIT_BYTES": LIMIT,
        "MAX_UPLOAD_BYTES": LIMIT,
        **extra,
        **args.service_env,
    }


def auth() -> dict[str, str]:
    """The streaming user's Authorization header."""
    return bearer(mint_token(SECRET, USER))


def store_video(service: Server, path: Path, name: str = STREAMED) -> None:
    """Upload a video through the service (set-up, not measured)."""
    with requests.Session() as session:
        upload(session, f"{service.url}/upload", path, name, auth())


def compare_reads(
    args, label: str, service: Source, anchor: Source, references: tuple[Source, ...] = ()
) -> list[Figure]:
    """Whole-object MB/s, then 1 MiB range requests/s from one client and from `clients`."""
    size = args.size_mib * MIB
    title = f"full {args.size_mib} MiB stream ({label})"
    figures = streaming.full_object(
        f"full_{label}", title, service, anchor, size, args.runs, TARGETS["full"], references
    )
    ranges = streaming.random_ranges(size, args.range_requests, args.seed)
    for clients in (1, args.clients):
        title = f"1 MiB ranges, {clients} client{'s' * (clients > 1)} ({label})"
        figures.append(
            streaming.range_rates(
                f"ranges_{label}_{clients}",
                title,
                service,
                anchor,
                ranges,
                clients,
                TARGETS["ranges"],
            )
        )
    return figures


def gcs_phase(args, work: Path, procs: Processes, media: Media) -> list[Figure]:
    """Stream from the GCS backend on fake-gcs-server beside direct emulator reads."""
    emulator = start_fake_gcs(procs)
    created = requests.post(f"{emulator.url}/storage/v1/b", json={"name": BUCKET}, timeout=TIMEOUT)
    created.raise_for_status()
    gcs = {"GCS_BUCKET": BUCKET, "GCS_ENDPOINT": emulator.url, "GCP_PROJECT": "bench"}
    service = start_gunicorn(
        procs, "service-gcs", "wsgi:app", service_env(args, work / "gcs", **gcs)
    )
    store_video(service, media["stream"])
    listing = requests.get(f"{emulator.url}/storage/v1/b/{BUCKET}/o", timeout=TIMEOUT).json()
    (name,) = [item["name"] for item in listing["items"]]
    path = f"/download/storage/v1/b/{BUCKET}/o/{quote(name, safe='')}?alt=media"
    # The ceiling for any relay: raw TCP copied by a C program, when socat is installed.
    forwarder = start_tcp_forwarder(procs, emulator, "/storage/v1/b")
    references = (
        (Source("tcp-forwarder", forwarder.url + path, servers=(forwarder, emulator)),)
        if forwarder
        else ()
    )
    figures = compare_reads(
        args,
        "gcs",
        Source("service", f"{service.url}/stream/video/{STREAMED}", auth(), (service, emulator)),
        Source("fake-gcs-server", emulator.url + path, servers=(emulator,)),
        references,
    )
    if forwarder:
        procs.stop(forwarder)
    procs.stop(service)
    procs.stop(emulator)
    return figures


def local_phase(args, work: Path, procs: Processes, media: Media) -> list[Figure]:
    """Stream from the embedded local store beside http.server on the stored file."""
    data = work / "local"
    service = start_gunicorn(procs, "service-local", "wsgi:app", service_env(args, data))
    store_video(service, media["stream"])
    objects = data / "objects"
    size = args.size_mib * MIB
    stored = anchor_copy(objects, size)
    static = start_static(procs, objects)
    figures = compare_reads(
        args,
        "local",
        Source("service", f"{service.url}/stream/video/{STREAMED}", auth(), (service,)),
        Source(
            "http.server",
            f"{static.url}/{quote(str(stored.relative_to(objects)))}",
            servers=(static,),
        ),
    )
    procs.stop(static)
    procs.stop(service)
    return figures


def anchor_copy(objects: Path, size: int) -> Path:
    """The stored video's bytes copied beside it, for http.server: the store's file of it
    begins with the store's header (services/storage/objects/local_format.py)."""
    (path,) = [p for p in (objects / "videos").rglob("*") if p.is_file() and p.name[0] != "."]
    anchor = objects / "anchor.mp4"
    with open(path, "rb") as source, open(anchor, "wb") as target:
        offset, left = read_record(source.fileno()).offset, size
        if offset is None:
            raise RuntimeError(f"{path} is in the store's older layout")
        while left > 0:
            copied = os.copy_file_range(source.fileno(), target.fileno(), left, offset)
            offset, left = offset + copied, left - copied
        os.fsync(target.fileno())
    return anchor


def upload_phase(args, work: Path, procs: Processes, media: Media) -> list[Figure]:
    """Upload into the embedded store beside werkzeug's parser; memory during up- and download."""
    service = start_gunicorn(
        procs, "service-upload", "wsgi:app", service_env(args, work / "upload")
    )
    parser = start_gunicorn(procs, "werkzeug-parser", "bench.anchor_app:app", {})
    throughput, upload_rss, kept = uploads.upload_vs_parser(
        service, parser, auth(), media["upload"], args.runs, TARGETS["upload"]
    )
    procs.stop(parser)
    procs.stop(service)
    # A fresh worker on the same data, so the uploads' freed memory cannot hide any growth.
    service = start_gunicorn(
        procs, "service-download", "wsgi:app", service_env(args, work / "upload")
    )
    url = f"{service.url}/stream/video/{kept}"
    download_rss = uploads.download_memory(service, url, auth(), args.upload_mib * MIB)
    procs.stop(service)
    return [throughput, upload_rss, download_rss]


def status_phase(args, work: Path, procs: Processes, media: Media) -> list[Figure]:
    """/storage-status requests/s with few users stored beside many."""
    rates = {}
    for count in args.status_users:
        data = work / f"status-{count}"
        users = seed_users(data, count, args.seed)
        service = start_gunicorn(
            procs, f"service-status-{count}", "wsgi:app", service_env(args, data)
        )
        rates[count] = status.status_rate(
            service.url, SECRET, users, args.status_requests, args.clients, args.seed
        )
        procs.stop(service)
    few, many = args.status_users
    return [
        Figure(
            "status",
            f"/storage-status, {many:,} users ({args.clients} clients)",
            "req/s",
            rates[many],
            rates[few],
            f"{few:,} users",
            TARGETS["status"],
            samples={"requests": args.status_requests, "clients": args.clients},
        )
    ]


def media_phase(args, work: Path, procs: Processes, media: Media) -> list[Figure]:
    """The media API: token downloads, listings of 10,000 files, a 10 MB upload's memory."""
    return media_bench.media_phase(
        args, work, procs, lambda data, **extra: service_env(args, data, **extra), SECRET
    )


def entities_phase(args, work: Path, procs: Processes, media: Media) -> list[Figure]:
    """POST /entity/ beside POST /upload of the same video; listings of many beside few."""
    env = {"ENTITY_MAX_FILE_BYTES": LIMIT}
    service = start_gunicorn(
        procs, "service-entities", "wsgi:app", service_env(args, work / "entities", **env)
    )
    headers = bearer(entities.writer_token(SECRET))
    figures = list(
        entities.upload_vs_video_api(
            service, headers, media["stream"], args.runs, TARGETS["entity_upload"]
        )
    )
    procs.stop(service)
    # Both libraries served at once and measured in alternating rounds: the machine's load
    # drifts, and one pass of each, minutes apart, moved a ratio by a factor of two.
    servers = {}
    for count in args.entity_counts:
        data = work / f"entities-{count}"
        entities.seed_entities(data, count)
        servers[count] = start_gunicorn(
            procs, f"service-entities-{count}", "wsgi:app", service_env(args, data)
        )
    runs: dict[tuple[str, int], list[float]] = {}
    cpu: dict[tuple[str, int], list[float]] = {}  # server microseconds per request
    for name, query in entities.LISTINGS.items():
        for _ in range(entities.LISTING_ROUNDS):
            for count, service in servers.items():
                rate, micros = entities.listing_rate(
                    service, query, args.entity_requests, args.clients, min(20, count)
                )
                runs.setdefault((name, count), []).append(rate)
                cpu.setdefault((name, count), []).append(micros)
    for _ in range(entities.LISTING_ROUNDS):
        for count, service in servers.items():
            rate = entities.search_after_change_rate(
                service.url, headers, entities.AFTER_CHANGE_REQUESTS
            )
            runs.setdefault(("search_after_change", count), []).append(rate)
    for service in servers.values():
        procs.stop(service)
    rates = {key: statistics.median(values) for key, values in runs.items()}
    few, many = args.entity_counts
    for name, query in entities.LISTINGS.items():
        figures.append(
            Figure(
                f"entity_listing_{name}",
                f"GET /entity/?{query}, {many:,} entities",
                "req/s",
                rates[name, many],
                rates[name, few],
                f"{few:,} entities",
                TARGETS["entity_listing"],
                samples={
                    "requests": args.entity_requests,
                    "clients": args.clients,
                    "many": summary(runs[name, many]),
                    "few": summary(runs[name, few]),
                    "cpu_us_many": [round(v) for v in cpu[name, many]],
                    "cpu_us_few": [round(v) for v in cpu[name, few]],
                },
            )
        )
    name = "search_after_change"
    figures.append(
        Figure(
            f"entity_listing_{name}",
            f"same search, each right after a PATCH (1 client), {many:,} entities",
            "req/s",
            rates[name, many],
            rates[name, few],
            f"{few:,} entities",
            None,  # a reference: what a search costs when its count is not kept
            samples={"requests": entities.AFTER_CHANGE_REQUESTS, "many": summary(runs[name, many])},
        )
    )
    return figures


def small_phase(args, work: Path, procs: Processes, media: Media) -> list[Figure]:
    """Small requests beside a bare Flask hello (1 and 2 workers); a 10,000-file library."""
    env = lambda data: service_env(args, data)  # noqa: E731
    return small.status_beside_hello(args, work, procs, env, SECRET) + small.big_library(
        args, work, procs, env, SECRET
    )


PHASES: dict[str, Callable[..., list[Figure]]] = {
    "gcs": gcs_phase,
    "local": local_phase,
    "upload": upload_phase,
    "status": status_phase,
    "small": small_phase,
    "media": media_phase,
    "entities": entities_phase,
}
