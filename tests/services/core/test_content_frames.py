"""Content checks at the frame: what the check's own decoder must see, whatever ffmpeg probes."""

from __future__ import annotations

import io
import random
from pathlib import Path

import av
import pytest

from services.core.content import HEADER_CONTAINERS, ContentCheck, ContentLimits
from services.core.errors import UnsupportedMediaType
from tests.services.core.test_content import stored

SIZE = (320, 240)
# Containers whose header names their streams; MP4 and MOV are written index first
# (`faststart`), so that a file cut inside its first frame still has its index.
CLIPS = {
    "mp4-mpeg4": ("mp4", "mpeg4", "video/mp4"),
    "mp4-h264": ("mp4", "libx264", "video/mp4"),
    "mov-h264": ("mov", "libx264", "video/quicktime"),
    "mkv-h264": ("matroska", "libx264", "video/x-matroska"),
    "webm-vp8": ("webm", "libvpx", "video/webm"),
}


def encode_clip(
    path: Path, muxer: str, encoder: str, *, size=SIZE, frames: int = 5, audio_first=False
) -> bytes:
    """Encode noise frames into muxer, index first; with audio_first an audio packet leads.

    For audio to lead, the video has no B-frames (their decode times start below zero).
    """
    try:
        av.codec.Codec(encoder, "w")
    except (av.codec.codec.UnknownCodecError, ValueError):
        pytest.skip(f"this PyAV build has no {encoder} encoder")
    rng = random.Random(f"{muxer}-{encoder}-{size}")
    options = {"movflags": "+faststart"} if muxer in ("mp4", "mov") else {}
    with av.open(str(path), "w", format=muxer, options=options) as box:
        audio_codec = "libopus" if muxer == "webm" else "aac"
        audio = box.add_stream(audio_codec, rate=48000, layout="stereo") if audio_first else None
        video = box.add_stream(encoder, rate=10, options={"bf": "0"} if audio_first else {})
        video.width, video.height, video.pix_fmt = *size, "yuv420p"
        if audio is not None:
            box.mux(audio.encode(silence(960 if muxer == "webm" else 1024)))
        for index in range(frames):
            frame = av.VideoFrame(*size, "yuv420p")
            for plane in frame.planes:
                plane.update(rng.randbytes(plane.line_size * plane.height))
            frame.pts = index
            box.mux(video.encode(frame))
        box.mux(video.encode(None))
        if audio is not None:
            box.mux(audio.encode(None))
    return path.read_bytes()


def silence(samples: int) -> av.AudioFrame:
    frame = av.AudioFrame(format="fltp", layout="stereo", samples=samples)
    for plane in frame.planes:
        plane.update(bytes(plane.buffer_size))
    frame.sample_rate, frame.pts = 48000, 0
    return frame


def first_stream_type(data: bytes) -> str:
    """The type of the stream of the file's first packet."""
    with av.open(io.BytesIO(data)) as container:
        return next(container.demux()).stream.type


def first_frame_span(data: bytes) -> tuple[int, int]:
    """Offset and length of the file's first video packet."""
    with av.open(io.BytesIO(data)) as container:
        packet = next(container.demux(container.streams.video[0]))
        return packet.pos, packet.size


def check(store, data: bytes, content_type: str, limits: ContentLimits | None = None) -> None:
    ContentCheck(limits).verify(store, stored(store, data, content_type), "refused")


def test_the_clips_are_read_as_header_containers():
    assert {content_type for _, _, content_type in CLIPS.values()} <= HEADER_CONTAINERS


@pytest.mark.parametrize(("muxer", "encoder", "content_type"), CLIPS.values(), ids=CLIPS.keys())
def test_a_whole_clip_passes(store, tmp_path, muxer, encoder, content_type):
    check(store, encode_clip(tmp_path / "clip", muxer, encoder), content_type)


@pytest.mark.parametrize(("muxer", "encoder", "content_type"), CLIPS.values(), ids=CLIPS.keys())
def test_a_clip_cut_inside_its_first_frame_is_refused(
    store, tmp_path, muxer, encoder, content_type
):
    data = encode_clip(tmp_path / "clip", muxer, encoder)
    start, length = first_frame_span(data)
    with pytest.raises(UnsupportedMediaType, match="refused"):
        check(store, data[: start + length // 2], content_type)


@pytest.mark.parametrize(("muxer", "encoder", "content_type"), CLIPS.values(), ids=CLIPS.keys())
def test_a_clip_whose_first_frame_is_garbage_is_refused(
    store, tmp_path, muxer, encoder, content_type
):
    data = encode_clip(tmp_path / "clip", muxer, encoder)
    start, length = first_frame_span(data)
    garbage = bytes((37 * k + 11) & 0xFF for k in range(length))
    with pytest.raises(UnsupportedMediaType, match="refused"):
        check(store, data[:start] + garbage + data[start + length :], content_type)


@pytest.mark.parametrize(("muxer", "encoder", "content_type"), CLIPS.values(), ids=CLIPS.keys())
def test_a_clip_whose_first_packet_is_audio_passes(store, tmp_path, muxer, encoder, content_type):
    data = encode_clip(tmp_path / "clip", muxer, encoder, audio_first=True)
    assert first_stream_type(data) == "audio"
    check(store, data, content_type)


@pytest.mark.parametrize(("muxer", "encoder", "content_type"), CLIPS.values(), ids=CLIPS.keys())
def test_the_video_pixel_limit_holds_for_header_containers(
    store, tmp_path, muxer, encoder, content_type
):
    data = encode_clip(tmp_path / "clip", muxer, encoder)
    check(store, data, content_type, ContentLimits(max_video_pixels=SIZE[0] * SIZE[1]))
    with pytest.raises(UnsupportedMediaType, match="refused"):
        check(store, data, content_type, ContentLimits(max_video_pixels=SIZE[0] * SIZE[1] - 1))
