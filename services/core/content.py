"""Judge stored content by decoding it, within bounded reads, packets, pixels and threads.

Sniffing (sniff.py) names a type from the first bytes; that is not proof: a 32-byte `ftyp`
header followed by anything, or an audio-only Matroska, sniffs as video. Here the stored
object is read back by ranges (never whole into memory) and decoded:

- a video must hold a video stream (not a cover picture) whose first decoded frame comes
  within `max_packets` demuxed packets, without errors the decoder had to conceal;
- an image must decode (JPEG at 1/8 scale, which still reads every entropy-coded byte), and
  one whose header declares more than `max_image_pixels` is refused as too large (413)
  before a pixel is decoded: that is the decompression bomb's signature;
- a PDF must parse: header, cross-reference table and trailer, and at least one page;
- other documents (Office, OpenDocument, RTF) are judged by their sniffed signature only.

Every check reads at most `max_read_bytes` from the store, and at most `concurrency`
decodes run at once in the process, so memory stays bounded under load.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import av
from PIL import Image
from pypdf import PdfReader

from services.core.errors import PayloadTooLarge, UnsupportedMediaType
from services.storage.objects import ObjectInfo, ObjectStore
from services.storage.objects.rangefile import ObjectFile

log = logging.getLogger("mediastore.content")

MIB = 1024 * 1024
WINDOW_BYTES = 1 * MIB
IMAGE_TOO_LARGE = "Image dimensions exceed the allowed number of pixels"
PIL_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/gif": "GIF"}
# Pillow's WebP plugin reads the whole file into memory; larger WebP files are refused.
MAX_WEBP_BYTES = 64 * MIB
JPEG_DRAFT_SCALE = 8
# Containers whose header lists every stream with its codec parameters (ISO BMFF and
# QuickTime, Matroska and WebM). Opening one, ffmpeg's stream-info probe would decode the
# first frame to guess what the header already says, or up to seven H.264 frames to guess
# its reorder delay, and the check then decodes that frame again. Told to read one packet
# and decode nothing, the probe costs a header read; the proof is the check's own decoder,
# which these options do not reach. Other containers (MPEG-TS and -PS, FLV, AVI, Ogg, ...)
# keep ffmpeg's defaults: some of them find their streams only by reading packets.
HEADER_CONTAINERS = frozenset(
    {
        "video/mp4",
        "video/x-m4v",
        "video/3gpp",
        "video/quicktime",
        "video/x-matroska",
        "video/webm",
    }
)
PROBE_WITHOUT_DECODING = {"skip_frame": "all", "probesize": "32"}
# Deblocking (H.264, HEVC, VP8/VP9) smooths pixels after the bitstream has been parsed and
# the frame rebuilt: it proves nothing about the bytes, and is ~2% of a 1080p keyframe.
DECODER_OPTIONS = {"skip_loop_filter": "all"}


@dataclass(frozen=True)
class ContentLimits:
    """The bounds of one check (see the module docstring)."""

    max_image_pixels: int = 50_000_000
    max_video_pixels: int = 8192 * 8192
    max_packets: int = 2000
    max_read_bytes: int = 256 * MIB
    concurrency: int = 2


class ContentCheck:
    """Decode a stored object to prove it is what its sniffed type says."""

    def __init__(self, limits: ContentLimits | None = None) -> None:
        self.limits = limits or ContentLimits()
        self._slots = threading.BoundedSemaphore(self.limits.concurrency)
        self._checks: dict[str, Callable[[io.BufferedReader, ObjectInfo], None]] = {
            "image/": self._image,
            "video/": self._video,
            "application/pdf": self._pdf,
        }

    def verify(self, store: ObjectStore, info: ObjectInfo, unsupported: str) -> None:
        """Return if the object decodes as its type; else UnsupportedMediaType(unsupported).

        PayloadTooLarge when an image declares more pixels than allowed; the store's own
        error (StorageUnavailable, ...) when it could not be read, whatever the decoder made
        of that.
        """
        check = next(
            (fn for key, fn in self._checks.items() if info.content_type.startswith(key)), None
        )
        if check is None:
            return
        reader = ObjectFile(store, info.name, info.size, budget=self.limits.max_read_bytes)
        with self._slots:
            try:
                check(io.BufferedReader(reader, WINDOW_BYTES), info)
            except (PayloadTooLarge, UnsupportedMediaType):
                raise
            except Exception as error:  # noqa: BLE001 - any decoder failure is a refusal
                if reader.failure is not None:
                    raise reader.failure from error
                log.info("content refused: %s (%s): %s", info.name, info.content_type, error)
                raise UnsupportedMediaType(unsupported) from error

    def _video(self, file: io.BufferedReader, info: ObjectInfo) -> None:
        probe = PROBE_WITHOUT_DECODING if info.content_type in HEADER_CONTAINERS else None
        with av.open(file, mode="r", options=probe) as container:
            stream = next((s for s in container.streams.video if not _cover_picture(s)), None)
            if stream is None:
                raise ValueError("no video stream")
            context = stream.codec_context
            if context.width * context.height > self.limits.max_video_pixels:
                raise ValueError(f"video frame of {context.width}x{context.height}")
            context.thread_count = 1  # one core and one frame's buffers per check
            context.options = dict(DECODER_OPTIONS)
            for count, packet in enumerate(container.demux(stream)):
                if count >= self.limits.max_packets:
                    raise ValueError(f"no frame within {self.limits.max_packets} packets")
                frames = packet.decode()
                if frames and frames[0].is_corrupt:
                    # Decoders conceal a damaged or cut frame (MPEG-4 part 2 fills in
                    # what is missing) and say so on the frame: that frame is no proof.
                    raise ValueError("the first frame decoded with errors")
                if frames:
                    return
            raise ValueError("no decodable video frame")

    def _image(self, file: io.BufferedReader, info: ObjectInfo) -> None:
        pil_format = PIL_FORMATS.get(info.content_type)
        if pil_format is None:
            raise ValueError(f"no decoder for {info.content_type}")
        if pil_format == "WEBP" and info.size > MAX_WEBP_BYTES:
            raise PayloadTooLarge(IMAGE_TOO_LARGE)
        try:
            with Image.open(file, formats=[pil_format]) as image:
                width, height = image.size
                if width * height > self.limits.max_image_pixels:
                    raise PayloadTooLarge(IMAGE_TOO_LARGE)
                if pil_format == "JPEG":
                    scale = JPEG_DRAFT_SCALE
                    image.draft(image.mode, (max(1, width // scale), max(1, height // scale)))
                image.load()
        except Image.DecompressionBombError as bomb:
            raise PayloadTooLarge(IMAGE_TOO_LARGE) from bomb

    def _pdf(self, file: io.BufferedReader, _info: ObjectInfo) -> None:
        reader = PdfReader(file, strict=False)
        if len(reader.pages) < 1:
            raise ValueError("a PDF without pages")


def _cover_picture(stream: Any) -> bool:
    """Tell whether a video stream is an audio file's cover art (one still, not a video)."""
    return bool(stream.disposition & av.stream.Disposition.attached_pic)
