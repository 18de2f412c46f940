"""A large upload into the embedded store beside werkzeug's parser, and the memory both cost."""

from __future__ import annotations

import os
from pathlib import Path
from statistics import median

import requests

from bench.client import MIB, TIMEOUT, download, upload
from bench.memory import watch_rss
from bench.procs import Server
from bench.results import Figure, summary

MB = 1_000_000
RSS_LIMIT_MIB = 64


def upload_vs_parser(
    service: Server, anchor: Server, headers: dict, path: Path, runs: int, target: float
) -> tuple[Figure, Figure, str]:
    """Median MB/s of one multipart upload into the service and into request.files, interleaved.

    Returns the throughput figure, the service worker's largest RSS growth during an upload,
    and the name of the one upload kept. The others are deleted, as werkzeug deletes its
    spool file: a fresh page-cache file costs several times more kernel time to write here.
    """
    size = path.stat().st_size
    rates: dict[str, list[float]] = {"service": [], "anchor": []}
    growth: dict[str, list[float]] = {"service": [], "anchor": []}
    with requests.Session() as session:
        for run in range(runs):
            for name, server, auth in (("anchor", anchor, {}), ("service", service, headers)):
                os.sync()  # start each upload without the last one's writeback pending
                with watch_rss(server.worker_pid()) as rss:
                    answer, seconds = upload(
                        session, f"{server.url}/upload", path, f"upload-{run}.mp4", auth
                    )
                if answer.get("size") != size:
                    raise RuntimeError(f"{name} upload stored {answer.get('size')}, not {size}")
                rates[name].append(size / seconds / MB)
                growth[name].append(rss.growth / MIB)
            if run < runs - 1:
                _delete(session, service, headers, f"upload-{run}.mp4")
    throughput = Figure(
        "upload",
        f"upload {size // MIB} MiB (embedded store)",
        "MB/s",
        median(rates["service"]),
        median(rates["anchor"]),
        "werkzeug request.files",
        target,
        samples={"service": summary(rates["service"]), "anchor": summary(rates["anchor"])},
    )
    memory = Figure(
        "upload_rss",
        f"RSS growth during {size // MIB} MiB upload",
        "MiB",
        max(growth["service"]),
        None,
        "",
        RSS_LIMIT_MIB,
        at_most=True,
        samples={"service_runs": growth["service"], "anchor_runs": growth["anchor"]},
    )
    return throughput, memory, f"upload-{runs - 1}.mp4"


def _delete(session: requests.Session, service: Server, headers: dict, filename: str) -> None:
    response = session.delete(
        f"{service.url}/delete-file", json={"filename": filename}, headers=headers, timeout=TIMEOUT
    )
    if response.status_code != 200:
        raise RuntimeError(f"delete {filename}: HTTP {response.status_code} {response.text[:300]}")


def download_memory(service: Server, url: str, headers: dict, size: int) -> Figure:
    """The service worker's RSS growth while it streams a whole object (no Range header)."""
    with requests.Session() as session, watch_rss(service.worker_pid()) as rss:
        received, seconds = download(session, url, headers)
    if received != size:
        raise RuntimeError(f"download returned {received} bytes, not {size}")
    return Figure(
        "download_rss",
        f"RSS growth during {size // MIB} MiB download",
        "MiB",
        rss.growth / MIB,
        None,
        "",
        RSS_LIMIT_MIB,
        at_most=True,
        samples={
            "mb_per_s": size / seconds / MB,
            "rss_before_mib": rss.before / MIB,
            "samples": rss.samples,
            "hwm_reset": rss.hwm_reset,
        },
    )
