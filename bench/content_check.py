"""`python -m bench.content_check`: what decoding an upload costs beside the upload itself.

Two real 50 MiB videos are uploaded to the service under gunicorn (embedded store,
`make run`'s shape); every upload is decoded there before it is recorded
(services/core/content.py). The same check is timed on its own, in this process, on the
same bytes in a local store: the figure is the check's time as a share of the whole
upload's. Goal: under 5%, for the ordinary video.

- camera: what a phone records, 1920x1080 H.264 (High profile, no B-frames, a keyframe a
  second) at 16 Mbit/s, of a scene of shapes the camera pans across, with sensor grain.
  The figure against the goal.
- noise: the first bench video, kept as a reference row: 1280x720 MPEG-4 part 2 at
  400 Mbit/s of noise frames, so its bytes are all picture. Meant as the worst case, it is
  not: H.264's arithmetic coding costs about five times as much per byte to decode.
"""

from __future__ import annotations

import argparse
import math
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import requests
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from bench.client import bearer, mint_token, upload
from bench.procs import Processes, start_gunicorn
from services.core.content import ContentCheck
from services.storage.objects.local import LocalObjectStore

MIB = 1024 * 1024
SECRET = "bench-content-check-secret-0123456789abcdef"
WIDTH, HEIGHT = 1280, 720
CAMERA_WIDTH, CAMERA_HEIGHT, CAMERA_FPS = 1920, 1080, 30
CAMERA_BIT_RATE = 16_000_000
PAN = (640, 360)  # how far the camera pans across the scene, in pixels
GRAINS = 6  # grain images the frames cycle through
GRAIN_LEVELS = 6  # sensor grain: +-3 levels of luma, which is where a phone's bits go


def write_noise_video(path: Path, size_bytes: int, seed: int) -> int:
    """Encode noise frames into an MP4 until it holds about size_bytes; returns its size."""
    rng = random.Random(seed)

    def frame(_index: int) -> av.VideoFrame:
        picture = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        for plane in picture.planes:
            plane.update(rng.randbytes(plane.line_size * plane.height))
        return picture

    with av.open(str(path), "w", format="mp4") as box:
        stream = box.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.bit_rate = 400_000_000
        stream.codec_context.gop_size = 25
        encode_until(box, stream, frame, size_bytes)
    return path.stat().st_size


def write_camera_video(path: Path, size_bytes: int, seed: int) -> int:
    """Encode a pan across a scene into a phone-like H.264 MP4 of about size_bytes."""
    rng = random.Random(seed)
    luma, blue, red = camera_scene(rng).split()
    half = (blue.width // 2, blue.height // 2)
    blue, red = blue.resize(half), red.resize(half)
    grains = [noise(rng, (CAMERA_WIDTH, CAMERA_HEIGHT), GRAIN_LEVELS) for _ in range(GRAINS)]

    def frame(index: int) -> av.VideoFrame:
        seconds = index / CAMERA_FPS
        x = 2 * round(PAN[0] / 4 * (1 + math.sin(seconds * 0.7)))
        y = 2 * round(PAN[1] / 4 * (1 + math.cos(seconds * 0.5)))
        box_luma = (x, y, x + CAMERA_WIDTH, y + CAMERA_HEIGHT)
        box_chroma = tuple(edge // 2 for edge in box_luma)
        grain = grains[index % GRAINS]
        planes = (
            ImageChops.add(luma.crop(box_luma), grain, 1.0, -(GRAIN_LEVELS // 2)),
            blue.crop(box_chroma),
            red.crop(box_chroma),
        )
        picture = av.VideoFrame(CAMERA_WIDTH, CAMERA_HEIGHT, "yuv420p")
        for plane, image in zip(picture.planes, planes, strict=True):
            plane.update(image.tobytes())  # line_size == width at these sizes
        return picture

    with av.open(str(path), "w", format="mp4") as box:
        stream = box.add_stream("libx264", rate=CAMERA_FPS)
        stream.width, stream.height, stream.pix_fmt = CAMERA_WIDTH, CAMERA_HEIGHT, "yuv420p"
        stream.bit_rate = CAMERA_BIT_RATE
        stream.codec_context.gop_size = CAMERA_FPS
        stream.codec_context.options = {"preset": "veryfast", "profile": "high", "bf": "0"}
        encode_until(box, stream, frame, size_bytes)
    return path.stat().st_size


def encode_until(
    box: Any, stream: Any, frame: Callable[[int], av.VideoFrame], size_bytes: int
) -> None:
    """Encode frame(0), frame(1), ... into the stream until its packets hold size_bytes."""
    written, index = 0, 0
    while written < size_bytes:
        picture = frame(index)
        picture.pts = index
        for packet in stream.encode(picture):
            written += packet.size
            box.mux(packet)
        index += 1
    box.mux(stream.encode(None))


def camera_scene(rng: random.Random) -> Image.Image:
    """A YCbCr scene larger than the frame: shapes on a gradient, edges softened."""
    size = (CAMERA_WIDTH + PAN[0], CAMERA_HEIGHT + PAN[1])
    scene = Image.linear_gradient("L").resize(size).convert("RGB")
    draw = ImageDraw.Draw(scene)
    for _ in range(1500):
        x, y, edge = rng.randrange(size[0]), rng.randrange(size[1]), rng.randrange(4, 90)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x, y, x + edge, y + edge * 2 * rng.random()), fill=colour)
    return scene.filter(ImageFilter.GaussianBlur(1.2)).convert("YCbCr")


def noise(rng: random.Random, size: tuple[int, int], levels: int) -> Image.Image:
    """A greyscale image of uniform noise in 0..levels-1, from rng (reproducible)."""
    image = Image.frombytes("L", size, rng.randbytes(size[0] * size[1]))
    return image.point(lambda value: value * levels // 256)


def first_frame_bytes(path: Path) -> int:
    """The size of the video's first packet: what the check decodes."""
    with av.open(str(path)) as container:
        return next(container.demux(container.streams.video[0])).size


class StoredCopy:
    """The video in a local store of this process, and a check to time on it."""

    def __init__(self, path: Path, work: Path) -> None:
        self.store = LocalObjectStore(work / f"check-{path.stem}", b"bench", clock=time.time)
        writer = self.store.open_writer(f"videos/{path.name}", "video/mp4")
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


def time_uploads_and_checks(
    videos: list[Path], work: Path, runs: int
) -> dict[str, tuple[list[float], list[float]]]:
    """Seconds of POST /upload of each video to the service, each followed by one timed check.

    Interleaved (video after video, upload then check), so that all see the same load on a
    shared machine.
    """
    copies = {path.stem: StoredCopy(path, work) for path in videos}
    timings: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in copies}
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
        with requests.Session() as session:
            for run in range(runs):
                order = videos if run % 2 == 0 else videos[::-1]
                for path in order:
                    uploads, checks = timings[path.stem]
                    name = f"upload-{run}-{path.name}"
                    _, took = upload(session, f"{service.url}/upload", path, name, headers)
                    uploads.append(took)
                    checks.append(copies[path.stem].timed())
                    body = {"filename": name}
                    session.delete(f"{service.url}/delete-file", json=body, headers=headers)
        return timings
    finally:
        procs.stop_all()


def report(name: str, uploads: list[float], checks: list[float], goal: str) -> None:
    """Print one video's upload, check and share figures."""
    shares = [check / up for check, up in zip(checks, uploads, strict=True)]
    print(
        f"  upload: median {statistics.median(uploads) * 1000:.0f} ms "
        f"(range {min(uploads) * 1000:.0f}-{max(uploads) * 1000:.0f})\n"
        f"  check:  median {statistics.median(checks) * 1000:.1f} ms "
        f"(range {min(checks) * 1000:.1f}-{max(checks) * 1000:.1f})\n"
        f"  share:  median {statistics.median(shares) * 100:.2f}% "
        f"(range {min(shares) * 100:.2f}-{max(shares) * 100:.2f}%){goal}"
    )


VIDEOS: dict[str, tuple[Callable[[Path, int, int], int], str, str]] = {
    "camera": (
        write_camera_video,
        f"{CAMERA_WIDTH}x{CAMERA_HEIGHT} H.264 at {CAMERA_BIT_RATE // 1_000_000} Mbit/s",
        ", goal < 5%",
    ),
    "noise": (
        write_noise_video,
        f"{WIDTH}x{HEIGHT} MPEG-4 part 2 noise at 400 Mbit/s",
        ", reference",
    ),
}


def main(argv: list[str] | None = None) -> int:
    """Time uploads and checks; print the share of each upload's time the check takes."""
    parser = argparse.ArgumentParser(prog="python -m bench.content_check", description=__doc__)
    parser.add_argument("--size-mib", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20240229)
    parser.add_argument("--videos", nargs="+", choices=list(VIDEOS), default=list(VIDEOS))
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="mediastore-content-bench-"))
    try:
        paths = []
        for name in args.videos:
            path = work / f"{name}.mp4"
            VIDEOS[name][0](path, args.size_mib * MIB, args.seed)
            paths.append(path)
        timings = time_uploads_and_checks(paths, work, args.runs)
        for path in paths:
            _, label, goal = VIDEOS[path.stem]
            size, frame = path.stat().st_size / MIB, first_frame_bytes(path) / 1000
            print(f"{path.stem}: {size:.1f} MiB, {label}, first frame {frame:.0f} KB")
            report(path.stem, *timings[path.stem], goal)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
