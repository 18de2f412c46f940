"""Metadata of stored images (Pillow) and videos (PyAV), read by ranges from the store.

Nothing reads a whole file: Pillow opens JPEG, PNG and GIF by their headers, PyAV probes a
video the way a player starts one (an MP4's index may be fetched from the end), and WebP,
whose Pillow plugin reads the whole file, is walked chunk by chunk here instead (Pillow
still parses its EXIF). Metadata is best effort: a file that sniffed right but cannot be
parsed is stored with the fields it has (the error is logged).
"""

from __future__ import annotations

import logging
import re
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO, Any

import av
from PIL import Image

from services.storage.objects import ObjectInfo, ObjectStore
from services.storage.objects.rangefile import ObjectFile

log = logging.getLogger("mediastore.entities.media")

EXIF_IFD = 0x8769
DATE_TIME_ORIGINAL, CREATE_DATE = 0x9003, 0x9004  # exiftool's names for 0x9003 and 0x9004
OFFSET_TIME_ORIGINAL, OFFSET_TIME_DIGITIZED = 0x9011, 0x9012
MAX_EXIF_BYTES = 1024 * 1024
# An animated WebP has a chunk per frame before its EXIF; past this many, stop looking.
MAX_WEBP_CHUNKS = 10_000
PIL_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF"}
_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")


@dataclass(frozen=True)
class MediaInfo:
    """What the file says about itself; None where it does not say."""

    width: int | None = None
    height: int | None = None
    duration: float | None = None
    create_date: datetime | None = None


def read_media_info(store: ObjectStore, info: ObjectInfo) -> MediaInfo:
    """Read the stored object's dimensions, duration and creation date."""
    file = ObjectFile(store, info.name, info.size)
    try:
        if info.content_type == "image/webp":
            return _webp_info(file)
        if info.content_type in PIL_FORMATS:
            return _pillow_info(file, PIL_FORMATS[info.content_type])
        return _video_info(file)
    except Exception as error:  # noqa: BLE001 - any parser failure: store without metadata
        log.warning("no metadata from %s (%s): %s", info.name, info.content_type, error)
        return MediaInfo()


# Images.


def _pillow_info(file: IO[bytes], pil_format: str) -> MediaInfo:
    # Only what open() read from the headers: getexif() on a PNG without an early eXIf
    # chunk would decode every pixel to look for a late one.
    with Image.open(file, formats=[pil_format]) as image:
        width, height = image.size
        raw = image.info.get("exif")
    exif = Image.Exif()
    if isinstance(raw, bytes) and len(raw) <= MAX_EXIF_BYTES:
        exif.load(raw)
    return MediaInfo(width, height, None, exif_create_date(exif))


def exif_create_date(exif: Image.Exif) -> datetime | None:
    """DateTimeOriginal, else CreateDate (DateTimeDigitized), in UTC.

    EXIF dates are the camera's local time; with an OffsetTime* tag they are converted to
    UTC, without one they are taken as UTC (the file says no better).
    """
    details = exif.get_ifd(EXIF_IFD)
    for tag, offset_tag in (
        (DATE_TIME_ORIGINAL, OFFSET_TIME_ORIGINAL),
        (CREATE_DATE, OFFSET_TIME_DIGITIZED),
    ):
        moment = _exif_datetime(details.get(tag), details.get(offset_tag))
        if moment is not None:
            return moment
    return None


def _exif_datetime(value: Any, offset: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        local = datetime.strptime(value.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None  # blank ("    :  :  ") or zero ("0000:00:00 00:00:00") dates
    match = _OFFSET.match(offset.strip("\x00 ")) if isinstance(offset, str) else None
    shift = timedelta()
    if match:
        sign = -1 if match.group(1) == "-" else 1
        shift = sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3)))
    return (local - shift).replace(tzinfo=UTC)


def _webp_info(file: IO[bytes]) -> MediaInfo:
    """Walk a WebP's RIFF chunks for its canvas size and EXIF, seeking past image data."""
    header = file.read(12)
    if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WEBP":
        return MediaInfo()
    width = height = None
    exif = Image.Exif()
    for _ in range(MAX_WEBP_CHUNKS):
        chunk = file.read(8)
        if len(chunk) < 8:
            break
        kind, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        start = file.tell()
        if kind in (b"VP8X", b"VP8 ", b"VP8L") and width is None:
            width, height = _webp_size(kind, file.read(min(size, 30)))
        elif kind == b"EXIF" and size <= MAX_EXIF_BYTES:
            exif.load(file.read(size))
        file.seek(start + size + (size & 1))  # chunks are padded to even lengths
    return MediaInfo(width, height, None, exif_create_date(exif))


def _webp_size(kind: bytes, data: bytes) -> tuple[int | None, int | None]:
    if kind == b"VP8X" and len(data) >= 10:
        return 1 + int.from_bytes(data[4:7], "little"), 1 + int.from_bytes(data[7:10], "little")
    if kind == b"VP8 " and len(data) >= 10 and data[3:6] == b"\x9d\x01\x2a":
        return (
            struct.unpack("<H", data[6:8])[0] & 0x3FFF,
            struct.unpack("<H", data[8:10])[0] & 0x3FFF,
        )
    if kind == b"VP8L" and len(data) >= 5 and data[0] == 0x2F:
        bits = int.from_bytes(data[1:5], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None, None


# Videos.


def _video_info(file: IO[bytes]) -> MediaInfo:
    with av.open(file, "r", buffer_size=256 * 1024) as container:
        stream = container.streams.video[0] if container.streams.video else None
        width = stream.codec_context.width if stream is not None else None
        height = stream.codec_context.height if stream is not None else None
        duration = _duration(container, stream)
        created = container.metadata.get("creation_time") or (
            stream.metadata.get("creation_time") if stream is not None else None
        )
    return MediaInfo(width or None, height or None, duration, _iso_datetime(created))


def _duration(container: Any, stream: Any) -> float | None:
    if container.duration:
        return round(container.duration / av.time_base, 3)
    if stream is not None and stream.duration and stream.time_base:
        return round(float(stream.duration * stream.time_base), 3)
    return None


def _iso_datetime(value: str | None) -> datetime | None:
    """A container's creation_time ("2024-05-06T07:08:09.000000Z") as a UTC datetime."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
