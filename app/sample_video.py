"""A small real MP4 for the `make run` banner's curl lines."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path


def write_sample_video(path: Path, seconds: int = 2) -> Path:
    """Encode a short moving-gradient MP4 at `path` once; later calls reuse it."""
    if path.exists():
        return path.resolve()
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    with av.open(str(partial), mode="w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        stream.time_base = Fraction(1, 10)
        for index in range(seconds * 10):
            row = bytes(v for x in range(160) for v in ((x + index * 8) % 256, 96, 160))
            frame = av.VideoFrame(160, 120, "rgb24")
            frame.planes[0].update(row * 120)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    partial.replace(path)
    return path.resolve()
