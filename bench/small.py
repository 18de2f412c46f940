"""Small requests: GET /storage-status beside a bare Flask hello, and a 10,000-file library."""

from __future__ import annotations

import statistics
from pathlib import Path

import requests as requests_lib

from bench.client import mint_token
from bench.load import run_load
from bench.procs import Processes, Server, start_gunicorn
from bench.results import Figure, summary
from bench.seed import seed_library, seed_users

CONNECTIONS = 16  # as the wrk figures
ROUNDS = 3
WARM_UP = 200


def _measure(
    server: Server, path: str, requests: int, headers_for=None, warm_up: int = WARM_UP
) -> tuple[float, float]:
    """(requests/s, worker CPU microseconds per request) of one timed pass."""
    run_load(server.url + path, warm_up, CONNECTIONS, headers_for, _check_ok)
    before = server.cpu_seconds()
    result = run_load(server.url + path, requests, CONNECTIONS, headers_for, _check_ok)
    if set(result.statuses) != {200}:
        raise RuntimeError(f"{server.name} {path}: statuses {result.statuses}")
    return result.rate, (server.cpu_seconds() - before) / requests * 1e6


def _check_ok(status: int, body: bytes) -> None:
    if status != 200:
        raise RuntimeError(f"HTTP {status}: {body[:200]!r}")


def _interleaved(
    pairs: dict[str, tuple[Server, str, object]], requests: int, warm_up: int = WARM_UP
):
    """ROUNDS passes of each (server, path), alternating; rates and CPU per request."""
    rates: dict[str, list[float]] = {name: [] for name in pairs}
    cpu: dict[str, list[float]] = {name: [] for name in pairs}
    for _ in range(ROUNDS):
        for name, (server, path, headers_for) in pairs.items():
            rate, micros = _measure(server, path, requests, headers_for, warm_up)
            rates[name].append(rate)
            cpu[name].append(micros)
    for name in pairs:
        print(
            f"[bench] small {name}: {statistics.median(rates[name]):,.0f} req/s, "
            f"{statistics.median(cpu[name]):,.0f} us server CPU per request",
            flush=True,
        )
    return rates, cpu


def status_beside_hello(args, work: Path, procs: Processes, env, secret: str) -> list[Figure]:
    """GET /storage-status (10 users, 3 files each) beside a bare Flask hello, same gunicorn.

    One worker (the embedded store's layout, with a target), then two workers each (the
    layout production runs on MongoDB; no MongoDB here, so the service reads the same
    embedded store from both processes: status only reads, and litemongo notices changes
    made by another process).
    """
    data = work / "small"
    users = seed_users(data, 10, args.seed)
    tokens = [{"Authorization": f"Bearer {mint_token(secret, uid)}"} for uid in users]
    figures = []
    for workers in (1, 2):
        service = start_gunicorn(procs, f"service-small-{workers}", "wsgi:app", env(data), workers)
        hello = start_gunicorn(procs, f"hello-{workers}", "bench.hello_app:app", {}, workers)
        rates, cpu = _interleaved(
            {
                "hello": (hello, "/hello", None),
                "status": (service, "/storage-status", lambda i: tokens[i % len(tokens)]),
                # The frame every request pays (hooks, body guard, headers, access line),
                # without auth, arguments or store: a reference, no target.
                "health": (service, "/health", None),
            },
            args.status_requests,
        )
        procs.stop(hello)
        procs.stop(service)
        figures.append(
            Figure(
                f"status_vs_hello_{workers}w",
                f"/storage-status vs Flask hello, {workers} worker(s) x 8 threads",
                "req/s",
                statistics.median(rates["status"]),
                statistics.median(rates["hello"]),
                "Flask hello",
                0.5 if workers == 1 else None,
                samples={
                    "service": summary(rates["status"]),
                    "anchor": summary(rates["hello"]),
                    "ratios": [s / h for s, h in zip(rates["status"], rates["hello"], strict=True)],
                    "server_cpu_us_per_request": {k: statistics.median(v) for k, v in cpu.items()},
                    "health_vs_hello": [
                        s / h for s, h in zip(rates["health"], rates["hello"], strict=True)
                    ],
                    "connections": CONNECTIONS,
                    "load_generator": "bench/load.py (asyncio, keep-alive)",
                },
            )
        )
    return figures


def big_library(args, work: Path, procs: Processes, env, secret: str) -> list[Figure]:
    """GET /storage-status of a user with 10,000 files beside one with 10, same server."""
    data = work / "library"
    few, many = 10, 10_000
    seed_library(data, "bench-few", few, args.seed)
    seed_library(data, "bench-many", many, args.seed + 1)
    service = start_gunicorn(procs, "service-library", "wsgi:app", env(data))
    headers = {
        name: {"Authorization": f"Bearer {mint_token(secret, f'bench-{name}')}"}
        for name in ("few", "many")
    }
    # The 10,000-file listing takes a large fraction of a second on the embedded store.
    requests = max(32, args.status_requests // 50)
    rates, _ = _interleaved(
        {
            "few": (service, "/storage-status", lambda i: headers["few"]),
            "many": (service, "/storage-status", lambda i: headers["many"]),
        },
        requests,
        warm_up=CONNECTIONS,
    )
    answer = requests_lib.get(service.url + "/storage-status", headers=headers["many"], timeout=60)
    listed = len(answer.json()["files"])
    procs.stop(service)
    return [
        Figure(
            "status_10k_files",
            f"/storage-status, {many:,} files beside {few} ({CONNECTIONS} connections)",
            "req/s",
            statistics.median(rates["many"]),
            statistics.median(rates["few"]),
            f"{few} files",
            0.5,
            samples={
                "service": summary(rates["many"]),
                "anchor": summary(rates["few"]),
                "files_listed_by_default": listed,
            },
        )
    ]
