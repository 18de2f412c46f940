"""`python -m bench.soak` (`make soak`): mixed traffic on every API, then `flask fsck`.

16 clients, each its own user, loop over the APIs (video uploads, uploads in parts, ranged
streams, downloads, status, media uploads/downloads/listings, entity creates/listings,
deletes of each kind, the screenshot flow through a stub peer registry and edge) against
the service as `make run` starts it (gunicorn.conf.py), for SOAK_SECONDS (default 600).
Then the clients stop, the service stops, and `flask fsck --json` audits what is left.
Reported: server errors (5xx or no answer: the goal is 0), the worker's RSS after warm-up
and at the end (goal: within +10%), p50/p99 per endpoint, and the fsck report (goal: clean).
`--gcs` runs the same against GCS on fake-gcs-server (SOAK_GCS_SECONDS, default 120).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from bench.memory import read_status_kib
from bench.procs import ROOT, Processes, base_env, free_port, start_fake_gcs
from bench.soak_traffic import PeerWorld, SoakClient, Tally

MIB = 1024 * 1024
LIMIT = str(64 * 1024 * MIB)
RSS_TOLERANCE = 0.10


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--gcs", action="store_true", help="objects on fake-gcs-server")
    default = "SOAK_GCS_SECONDS" if "--gcs" in (argv or sys.argv) else "SOAK_SECONDS"
    parser.add_argument(
        "--seconds",
        type=float,
        default=float(os.environ.get(default, 120 if "GCS" in default else 600)),
    )
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--warmup", type=float, default=None, help="default: 20%% of the run")
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the data and the server log")
    return parser.parse_args(argv)


def service_env(data_dir: Path, secret: str, port: int, peers: str, extra: dict) -> dict:
    """`make run`'s development settings, our secret and port, limits out of the way."""
    return base_env(
        APP_ENV="development",
        DATA_DIR=str(data_dir),
        JWT_SECRET_KEY=secret,
        HOST="127.0.0.1",
        PORT=str(port),
        DEFAULT_STORAGE_QUOTA_BYTES=LIMIT,
        DAILY_BANDWIDTH_LIMIT_BYTES=LIMIT,
        MAX_UPLOAD_BYTES=LIMIT,
        MEDIA_UPLOAD_RATE_LIMIT="1000000/minute",
        MEDIA_DOWNLOAD_RATE_LIMIT="100000000/minute",
        PEER_REGISTRY_URL=peers,
        EDGE_SERVICE_URL=peers,
        **extra,
    )


def make_media() -> dict[str, Any]:
    """A real 256 KiB MP4, a PNG, and unique PNGs for entities (the library refuses twins)."""
    from tests.media import make_image, make_video_of_size  # dev-only: needs PyAV

    image = make_image("png", size=(64, 64))
    return {
        "video": make_video_of_size(256 * 1024),
        "image": image,
        "entity": lambda: image + uuid.uuid4().bytes,  # bytes after IEND: same picture
    }


def sample_rss(pid: int, samples: list[tuple[float, int]], stop: threading.Event) -> None:
    started = time.monotonic()
    while not stop.wait(1.0):
        try:
            samples.append((time.monotonic() - started, read_status_kib(pid, "VmRSS")))
        except (OSError, KeyError):
            return


def drive(clients: list[SoakClient], seconds: float) -> None:
    """Every client loops until the deadline; a client's own exception is a failed step."""
    deadline = time.monotonic() + seconds

    def loop(client: SoakClient) -> None:
        while time.monotonic() < deadline:
            try:
                client.step()
            except Exception as error:  # noqa: BLE001 - counted, never silent
                client.tally.record("client step", 0, 0.0, repr(error))

    threads = [threading.Thread(target=loop, args=(c,), daemon=True) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 300)


def fsck(env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """Run `flask --app wsgi fsck --json` on the stopped service's data."""
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "fsck", "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"fsck printed no report:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done.returncode, json.loads(lines[-1])


COUNT_DOCUMENTS = """
import json
from app import create_app
database = create_app().extensions["mediastore"].database
names = "%s".split()
print(json.dumps({name: database[name].count_documents({}) for name in names}))
"""


COLLECTIONS = (
    "accounts files usage media upload_sessions entities entity_versions entity_uploads "
    "outbox processed_messages screenshot_requests screenshot_tokens screenshots previews"
)


def documents(env: dict[str, str]) -> dict[str, int]:
    """How many documents each collection holds once the run is over (what the store kept)."""
    done = subprocess.run(
        [sys.executable, "-c", COUNT_DOCUMENTS % COLLECTIONS],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {}


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered) * 1000, p99 * 1000


def report(
    tally: Tally, rss: list[tuple[float, int]], warmup: float, audit, args, kept: dict
) -> dict:
    """The figures, printed as a table and returned for the JSON file."""
    after_warmup = [value for at, value in rss if at >= warmup]
    start_rss = after_warmup[0] if after_warmup else 0
    end_rss = statistics.median(value for _, value in rss[-5:]) if rss else 0
    growth = (end_rss - start_rss) / start_rss if start_rss else 0.0
    code, fsck_report = audit
    endpoints = {}
    print(f"{'endpoint':42} {'n':>7} {'p50 ms':>8} {'p99 ms':>8}  statuses")
    for endpoint in sorted(tally.seconds):
        p50, p99 = percentiles(tally.seconds[endpoint])
        statuses = dict(sorted(tally.statuses[endpoint].items()))
        endpoints[endpoint] = {
            "n": len(tally.seconds[endpoint]),
            "p50_ms": round(p50, 1),
            "p99_ms": round(p99, 1),
            "statuses": statuses,
        }
        n = len(tally.seconds[endpoint])
        print(f"{endpoint:42} {n:>7} {p50:>8.1f} {p99:>8.1f}  {statuses}")
    requests_made = sum(len(v) for v in tally.seconds.values())
    print(f"requests: {requests_made} in {args.seconds:.0f} s with {args.clients} clients")
    print(f"server errors: {len(tally.errors)}" + "".join(f"\n  {e}" for e in tally.errors[:20]))
    print(
        f"RSS after warm-up {start_rss / MIB:.1f} MiB, at the end {end_rss / MIB:.1f} MiB "
        f"({growth:+.1%}; goal within +{RSS_TOLERANCE:.0%})"
    )
    print(
        f"fsck: exit {code}, {'clean' if fsck_report['clean'] else 'PROBLEMS'} "
        f"{fsck_report['counts']} checked {fsck_report['checked']}"
    )
    print(f"documents kept: {sum(kept.values())} {kept}")
    print(f"metadata on disk: {args.metadata_bytes / MIB:.1f} MiB")
    return {
        "backend": "gcs" if args.gcs else "local",
        "documents_kept": kept,
        "metadata_bytes": args.metadata_bytes,
        "rss_every_10s": [(round(at), value) for at, value in rss[::10]],
        "seconds": args.seconds,
        "clients": args.clients,
        "requests": requests_made,
        "server_errors": tally.errors,
        "rss_after_warmup": start_rss,
        "rss_end": end_rss,
        "rss_growth": round(growth, 4),
        "endpoints": endpoints,
        "fsck": fsck_report,
        "met": not tally.errors and growth <= RSS_TOLERANCE and fsck_report["clean"],
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    warmup = args.warmup if args.warmup is not None else args.seconds * 0.2
    work = Path(tempfile.mkdtemp(prefix="mediastore-soak-"))
    procs, peers, secret = Processes(work), PeerWorld(), secrets.token_urlsafe(32)
    try:
        extra: dict[str, str] = {}
        if args.gcs:
            emulator = start_fake_gcs(procs)
            from bench.parts import signing_key_file

            extra = {
                "GCS_BUCKET": "mediastore-soak",
                "GCS_ENDPOINT": emulator.url,
                "GCP_PROJECT": "soak",
                "GCS_SIGNING_KEY_FILE": str(signing_key_file(work)),
            }
            import requests

            requests.post(
                f"{emulator.url}/storage/v1/b",
                json={"name": "mediastore-soak"},
                params={"project": "soak"},
                timeout=10,
            )
        port = free_port()
        env = service_env(work / "data", secret, port, peers.url, extra)
        command = [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"]
        service = procs.start("service", command, env, port, "/health")
        media = {**make_media(), "peers": peers}
        tally = Tally()
        clients = [SoakClient(i, service.url, secret, media, tally) for i in range(args.clients)]
        rss: list[tuple[float, int]] = []
        stop = threading.Event()
        sampler = threading.Thread(
            target=sample_rss, args=(service.worker_pid(), rss, stop), daemon=True
        )
        sampler.start()
        print(
            f"[soak] {args.clients} clients for {args.seconds:.0f} s on "
            f"{'fake-gcs-server' if args.gcs else 'the local store'}",
            flush=True,
        )
        drive(clients, args.seconds)
        stop.set()
        time.sleep(2)  # the relay's last round
        procs.stop(service)
        metadata = work / "data" / "metadata"
        args.metadata_bytes = sum(f.stat().st_size for f in metadata.rglob("*") if f.is_file())
        audit = fsck(env)
        figures = report(tally, rss, warmup, audit, args, documents(env))
    finally:
        peers.close()
        procs.stop_all()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    name = f"soak-{figures['backend']}.json"
    output = args.output or ROOT / "bench/results" / name
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(figures, indent=2, default=str))
    print(f"[soak] {'all goals met' if figures['met'] else 'GOALS MISSED'} -> {output}")
    return 0 if figures["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
