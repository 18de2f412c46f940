"""`python -m bench.content_check`: what decoding an upload costs beside the upload itself.

A real 50 MiB video (1280x720 MPEG-4 of noise frames, so the bytes are all picture) is
uploaded to the service under gunicorn (embedded store, `make run`'s shape); every upload
is decoded there before it is recorded (services/core/content.py). The same check is timed
on its own, in this process, on the same bytes in a local store: the figure is the check's
time as a share of the whole upload's. Goal: under 5%.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import av
import requests

from bench.client import bearer, mint_token, upload
from bench.procs import Processes, start_gunicorn
from services.core.content import ContentCheck
from services.storage.objects.local import LocalObjectStore

MIB = 1024 * 1024
SECRET = "bench-content-check-secret-0123456789abcdef"
WIDTH, HEIGHT = 1280, 720


def write_noise_video(path: Path, size_bytes: int, seed: int) -> int:
    """Encode noise frames into an MP4 until it holds about size_bytes; returns its size."""
    rng = random.Random(seed)
    with av.open(str(path), "w", format="mp4") as box:
        stream = box.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.bit_rate = 400_000_000
        stream.codec_context.gop_size = 25
        written, index = 0, 0
        while written < size_bytes:
            frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
            for plane in frame.planes:
                plane.update(rng.randbytes(plane.line_size * plane.height))
            frame.pts = index
            for packet in stream.encode(frame):
                written += packet.size
                box.mux(packet)
            index += 1
        box.mux(stream.encode(None))
    return path.stat().st_size


class StoredCopy:
    """The video in a local store of this process, and a check to time on it."""

    def __init__(self, path: Path, work: Path) -> None:
        self.store = LocalObjectStore(work / "check-objects", b"bench", clock=time.time)
        writer = self.store.open_writer("videos/bench.mp4", "video/mp4")
        with path.open("rb") as source:
            while chunk := source.read(8 * MIB):
                writer.write(chunk)
        self.info = writer.commit()
        self.check = ContentCheck()
        self.timed()  # once untimed: the process's first decode opens the codecs

    def timed(self) -> float:
        """Seconds of one ContentCheck.verify of the stored copy."""
        started = time.perf_counter()
        self.check.verify(self.store, self.info, "not a video")
        return time.perf_counter() - started


def time_uploads_and_checks(path: Path, work: Path, runs: int) -> tuple[list[float], list[float]]:
    """Seconds of POST /upload of the file to the service, each followed by one timed check.

    Interleaved, so that both see the same load on a shared machine.
    """
    copy = StoredCopy(path, work)
    procs = Processes(work)
    env = {
        "APP_ENV": "development",
        "DATA_DIR": str(work / "data"),
        "JWT_SECRET_KEY": SECRET,
        "DEFAULT_STORAGE_QUOTA_BYTES": str(64 * 1024 * MIB),
        "DAILY_BANDWIDTH_LIMIT_BYTES": str(64 * 1024 * MIB),
        "LOG_LEVEL": "WARNING",
    }
    try:
        service = start_gunicorn(procs, "service", "wsgi:app", env)
        headers = bearer(mint_token(SECRET, "bench-user"))
        uploads, checks = [], []
        with requests.Session() as session:
            for run in range(runs):
                name = f"upload-{run}.mp4"
                _, took = upload(session, f"{service.url}/upload", path, name, headers)
                uploads.append(took)
                checks.append(copy.timed())
                body = {"filename": name}
                session.delete(f"{service.url}/delete-file", json=body, headers=headers)
        return uploads, checks
    finally:
        procs.stop_all()


def main(argv: list[str] | None = None) -> int:
    """Time uploads and checks; print the share of each upload's time the check takes."""
    parser = argparse.ArgumentParser(prog="python -m bench.content_check", description=__doc__)
    parser.add_argument("--size-mib", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20240229)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="mediastore-content-bench-"))
    try:
        video = work / "video.mp4"
        size = write_noise_video(video, args.size_mib * MIB, args.seed)
        uploads, checks = time_uploads_and_checks(video, work, args.runs)
        shares = [check / up for check, up in zip(checks, uploads, strict=True)]
        print(f"video: {size / MIB:.1f} MiB, {WIDTH}x{HEIGHT} MPEG-4")
        print(
            f"upload: median {statistics.median(uploads) * 1000:.0f} ms "
            f"(range {min(uploads) * 1000:.0f}-{max(uploads) * 1000:.0f})"
        )
        print(
            f"check:  median {statistics.median(checks) * 1000:.1f} ms "
            f"(range {min(checks) * 1000:.1f}-{max(checks) * 1000:.1f})"
        )
        print(
            f"share:  median {statistics.median(shares) * 100:.2f}% "
            f"(range {min(shares) * 100:.2f}-{max(shares) * 100:.2f}%), goal < 5%"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
