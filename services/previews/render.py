"""Render previews: a video's frame at about 10% of its length, an image scaled down, as JPEG."""

from __future__ import annotations

import io
from typing import IO

import av
from PIL import Image, ImageOps

from services.core.errors import UnsupportedMediaType

MAX_EDGE = 320
# Pillow refuses images past this many pixels: a decompression bomb is not a thumbnail.
MAX_PIXELS = 64_000_000
# After seeking, decode at most this many frames looking for the one at the target time.
MAX_FRAMES_AFTER_SEEK = 240
NO_PREVIEW = "No preview can be made of this file"


def video_poster(file: IO[bytes]) -> bytes:
    """A JPEG of the frame at about 10% of the video's length (its first frame if unknown)."""
    try:
        with av.open(file, mode="r") as container:
            stream = next(iter(container.streams.video), None)
            if stream is None:
                raise UnsupportedMediaType(NO_PREVIEW)
            stream.thread_type = "AUTO"
            target = _poster_time(container, stream)
            frame = _frame_at(container, stream, target)
            return _jpeg(frame.to_image())
    except av.error.FFmpegError as error:
        raise UnsupportedMediaType(NO_PREVIEW) from error


def image_thumbnail(file: IO[bytes]) -> bytes:
    """A JPEG of the image scaled to fit MAX_EDGE, turned upright by its EXIF orientation."""
    try:
        with Image.open(file) as image:
            if image.width * image.height > MAX_PIXELS:
                raise UnsupportedMediaType(NO_PREVIEW)
            image.draft("RGB", (MAX_EDGE, MAX_EDGE))  # JPEG decodes at a smaller scale
            return _jpeg(ImageOps.exif_transpose(image))
    except (OSError, Image.DecompressionBombError, ValueError) as error:
        raise UnsupportedMediaType(NO_PREVIEW) from error


def _poster_time(container: av.container.InputContainer, stream: av.video.VideoStream) -> float:
    if container.duration:
        return container.duration / av.time_base * 0.1
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base) * 0.1
    return 0.0


def _frame_at(container, stream, target: float) -> av.VideoFrame:  # type: ignore[no-untyped-def]
    if target > 0 and stream.time_base:
        container.seek(int(target / stream.time_base), stream=stream, backward=True)
    chosen = None
    for count, frame in enumerate(container.decode(stream)):
        chosen = frame
        if frame.time is None or frame.time >= target or count >= MAX_FRAMES_AFTER_SEEK:
            break
    if chosen is None:
        raise UnsupportedMediaType(NO_PREVIEW)
    return chosen


def _jpeg(image: Image.Image) -> bytes:
    image = image.convert("RGB")
    image.thumbnail((MAX_EDGE, MAX_EDGE))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80, optimize=True)
    return out.getvalue()
