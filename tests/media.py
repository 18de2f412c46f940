"""Generate small, real, deterministic media files with PyAV for tests."""

from __future__ import annotations

import io
import math
import os
import struct
import zlib
from dataclasses import dataclass, field
from functools import cache

import av
import pytest


@dataclass(frozen=True)
class Recipe:
    """How to write one format: the muxer, encoders by preference, muxer options."""

    muxer: str
    encoders: tuple[str, ...]
    options: dict[str, str] = field(default_factory=dict)
    encoder_options: dict[str, str] = field(default_factory=dict)


# Ogg prefers Theora; this PyAV build has no Theora encoder, so Ogg falls back to VP8.
VIDEO_FORMATS: dict[str, Recipe] = {
    "mp4": Recipe("mp4", ("libx264", "mpeg4")),
    "webm": Recipe("webm", ("libvpx", "libvpx-vp9")),
    "mkv": Recipe("matroska", ("libx264", "mpeg4")),
    "ogg": Recipe("ogg", ("libtheora", "libvpx")),
    "avi": Recipe("avi", ("mpeg4",)),
    "mov": Recipe("mov", ("libx264", "mpeg4")),
    "ts": Recipe("mpegts", ("libx264", "mpeg2video")),
    "m2ts": Recipe("mpegts", ("libx264", "mpeg2video"), {"mpegts_m2ts_mode": "1"}),
    "3gp": Recipe("3gp", ("libx264", "mpeg4")),
    "m4v": Recipe("ipod", ("libx264",)),
    "flv": Recipe("flv", ("flv",)),
    # MPEG-2 allows only broadcast frame rates unless told to accept others.
    "mpg": Recipe("mpeg", ("mpeg2video",), encoder_options={"strict": "unofficial"}),
    "wmv": Recipe("asf", ("wmv2",)),
}

AUDIO_FORMATS: dict[str, Recipe] = {
    "ogg": Recipe("ogg", ("libopus", "opus")),
    # FFmpeg's own Vorbis encoder is experimental and stereo-only; libvorbis is absent here.
    "ogg-vorbis": Recipe("ogg", ("libvorbis", "vorbis"), encoder_options={"strict": "-2"}),
    "m4a": Recipe("ipod", ("aac",)),
    "mp3": Recipe("mp3", ("libmp3lame",)),
}

# Audio alone in containers that usually carry video: their first bytes sniff as video, so
# only decoding (services/core/content.py) tells them apart. make_audio makes these too.
AUDIO_IN_VIDEO_CONTAINERS: dict[str, Recipe] = {
    "webm": Recipe("webm", ("libopus", "opus", "libvorbis")),
    "mka": Recipe("matroska", ("libopus", "opus", "aac")),
    "mp4": Recipe("mp4", ("aac",)),
}

IMAGE_ENCODERS: dict[str, tuple[str, str]] = {
    "png": ("png", "rgb24"),
    "jpeg": ("mjpeg", "yuvj420p"),
    "webp": ("libwebp", "yuv420p"),
}

_BITEXACT_MUXER = {"fflags": "+bitexact"}
_BITEXACT_ENCODER = {"flags": "+bitexact"}
_SIZED_BASE_SIZE = (16, 16)
_CHUNK = 1024 * 1024


def encoder_for(fmt: str, formats: dict[str, Recipe] = VIDEO_FORMATS) -> str | None:
    """Return the first encoder for fmt that this PyAV build has, or None."""
    return next((name for name in formats[fmt].encoders if _has_encoder(name)), None)


def make_video(
    fmt: str = "mp4", seconds: float = 1.0, size: tuple[int, int] = (64, 48), fps: int = 10
) -> bytes:
    """Return a real video file in fmt; skip the calling test if no encoder fits."""
    return _make_video(fmt, seconds, tuple(size), fps)


def make_image(fmt: str, size: tuple[int, int] = (16, 16)) -> bytes:
    """Return a real png, jpeg or webp image."""
    codec, pix_fmt = IMAGE_ENCODERS[fmt]
    context = av.CodecContext.create(codec, "w")
    context.width, context.height, context.pix_fmt = *size, pix_fmt
    context.options = dict(_BITEXACT_ENCODER)
    frame = _video_frame(*size, 0).reformat(format=pix_fmt)
    packets = context.encode(frame) + context.encode(None)
    return b"".join(bytes(packet) for packet in packets)


def make_audio(fmt: str = "ogg", seconds: float = 0.5) -> bytes:
    """Return a real audio-only file: ogg (Opus), ogg-vorbis, m4a (AAC), mp3, webm, mka, mp4."""
    return _make_audio(fmt, seconds)


def min_video_size() -> int:
    """Return the smallest length make_video_of_size can produce."""
    return len(_sized_base()) + 8


def make_video_of_size(n_bytes: int, fmt: str = "mp4") -> bytes:
    """Return a valid MP4 exactly n_bytes long: a tiny video plus a trailing free box."""
    base, header = _sized_parts(n_bytes, fmt)
    return base + header + bytes(n_bytes - len(base) - len(header))


def write_video_of_size(path: str | os.PathLike[str], n_bytes: int, fmt: str = "mp4") -> None:
    """Write the file make_video_of_size would return, in chunks, without holding it in memory."""
    base, header = _sized_parts(n_bytes, fmt)
    remaining = n_bytes - len(base) - len(header)
    zeros = bytes(min(_CHUNK, remaining))
    with open(path, "wb") as out:
        out.write(base + header)
        while remaining:
            step = min(_CHUNK, remaining)
            out.write(memoryview(zeros)[:step])
            remaining -= step


@cache
def _make_video(fmt: str, seconds: float, size: tuple[int, int], fps: int) -> bytes:
    """Encode round(seconds * fps) frames of a moving gradient into fmt."""
    recipe = VIDEO_FORMATS[fmt]
    encoder = encoder_for(fmt)
    if encoder is None:
        pytest.skip(f"this PyAV build has no encoder for {fmt}: tried {recipe.encoders}")
    return _encode_video(recipe, encoder, max(1, round(seconds * fps)), size, fps)


def _encode_video(
    recipe: Recipe, encoder: str, frames: int, size: tuple[int, int], fps: int
) -> bytes:
    """Mux frames gradient frames encoded with encoder into recipe's container."""
    out = io.BytesIO()
    with av.open(out, "w", format=recipe.muxer, options=_BITEXACT_MUXER | recipe.options) as box:
        options = _BITEXACT_ENCODER | recipe.encoder_options
        stream = box.add_stream(encoder, rate=fps, options=options)
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        stream.codec_context.thread_count = 1
        for index in range(frames):
            box.mux(stream.encode(_video_frame(*size, index)))
        box.mux(stream.encode(None))
    return out.getvalue()


@cache
def _make_audio(fmt: str, seconds: float) -> bytes:
    """Encode a 440 Hz tone into fmt as stereo, which every audio encoder here accepts."""
    formats = AUDIO_FORMATS if fmt in AUDIO_FORMATS else AUDIO_IN_VIDEO_CONTAINERS
    recipe = formats[fmt]
    encoder = encoder_for(fmt, formats)
    if encoder is None:
        pytest.skip(f"this PyAV build has no encoder for {fmt}: tried {recipe.encoders}")
    rate, samples = 48000, 1024
    out = io.BytesIO()
    with av.open(out, "w", format=recipe.muxer, options=_BITEXACT_MUXER) as box:
        options = _BITEXACT_ENCODER | recipe.encoder_options
        stream = box.add_stream(encoder, rate=rate, layout="stereo", options=options)
        for start in range(0, int(rate * seconds), samples):
            box.mux(stream.encode(_tone_frame(start, samples, rate)))
        box.mux(stream.encode(None))
    return out.getvalue()


def _video_frame(width: int, height: int, index: int) -> av.VideoFrame:
    """Build a yuv420p frame whose gradient moves with index."""
    frame = av.VideoFrame(width, height, "yuv420p")
    for number, plane in enumerate(frame.planes):
        rows = (
            bytes((4 * x + 2 * y + 16 * index + 64 * number) & 0xFF for x in range(plane.line_size))
            for y in range(plane.height)
        )
        plane.update(b"".join(rows))
    frame.pts = index
    return frame


def _tone_frame(start: int, samples: int, rate: int) -> av.AudioFrame:
    """Build a mono s16 frame of a 440 Hz tone starting at sample start."""
    frame = av.AudioFrame(format="s16", layout="mono", samples=samples)
    values = (int(8000 * math.sin(2 * math.pi * 440 * (start + k) / rate)) for k in range(samples))
    frame.planes[0].update(struct.pack(f"<{samples}h", *values))
    frame.sample_rate, frame.pts = rate, start
    return frame


@cache
def _sized_base() -> bytes:
    """Return the smallest MP4 we make: one 16x16 MPEG-4 frame, no x264 SEI banner."""
    return _encode_video(VIDEO_FORMATS["mp4"], "mpeg4", 1, _SIZED_BASE_SIZE, 1)


def _sized_parts(n_bytes: int, fmt: str) -> tuple[bytes, bytes]:
    """Return the base MP4 and the free-box header that pads it to n_bytes."""
    if fmt != "mp4":
        raise ValueError(f"exact-size videos are only made as mp4, not {fmt}")
    base = _sized_base()
    if n_bytes < min_video_size():
        raise ValueError(f"an exact-size video needs at least {min_video_size()} bytes")
    return base, _free_box_header(n_bytes - len(base))


def _free_box_header(box_size: int) -> bytes:
    """Return the header of a free box box_size bytes long, 64-bit sized past 4 GiB."""
    if box_size <= 0xFFFFFFFF:
        return struct.pack(">I4s", box_size, b"free")
    return struct.pack(">I4sQ", 1, b"free", box_size)


def _has_encoder(name: str) -> bool:
    """Tell whether this PyAV build can encode with name."""
    try:
        av.codec.Codec(name, "w")
    except (av.codec.codec.UnknownCodecError, ValueError):
        return False
    return True


def make_ftyp_impostor(n_bytes: int = 4096) -> bytes:
    """Return a real MP4's 32-byte ftyp box followed by bytes that are no video at all."""
    return make_video("mp4")[:32] + bytes((7 * k) & 0xFF for k in range(n_bytes - 32))


def make_png_bomb(width: int = 8000, height: int = 8000) -> bytes:
    """Return a small 1-bit PNG whose header declares width x height pixels, all black."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    row = bytes(1 + (width + 7) // 8)  # filter byte 0, then the packed pixels
    pixels = zlib.compressobj(9)
    idat = b"".join(pixels.compress(row) for _ in range(height)) + pixels.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    signature = b"\x89PNG\r\n\x1a\n"
    return signature + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
