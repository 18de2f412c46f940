"""Decide an upload's media type from its first bytes, never from its name or declared type."""

from __future__ import annotations

import re
from collections.abc import Iterator

import filetype
from filetype.types.archive import Rtf

SNIFF_BYTES: int = 64 * 1024

EXTENSIONS: dict[str, str] = {
    "video/mp4": ".mp4",
    "video/x-m4v": ".m4v",
    "video/3gpp": ".3gp",
    "video/quicktime": ".mov",
    "video/x-matroska": ".mkv",
    "video/webm": ".webm",
    "video/x-msvideo": ".avi",
    "video/mpeg": ".mpg",
    "video/x-flv": ".flv",
    "video/x-ms-wmv": ".wmv",
    "video/ogg": ".ogv",
    "video/mp2t": ".ts",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    # Documents (sniff_document).
    "application/pdf": ".pdf",
    "application/rtf": ".rtf",
    "application/msword": ".doc",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.ms-powerpoint": ".ppt",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
    "application/vnd.oasis.opendocument.text": ".odt",
    "application/vnd.oasis.opendocument.spreadsheet": ".ods",
    "application/vnd.oasis.opendocument.presentation": ".odp",
    # Library images (sniff_library_image).
    "image/gif": ".gif",
}

PDF = "application/pdf"
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
# What sniff_document can name: PDF by its header, the others by filetype's matchers
# (Office 97-2003 compound files, Office Open XML and OpenDocument zips) and RTF's header.
DOCUMENT_TYPES = frozenset(mime for mime in EXTENSIONS if mime.startswith("application/"))
_PDF_HEADER = re.compile(rb"%PDF-[12]\.[0-9]")
_OTHER_DOCUMENTS = (*filetype.document_matchers, Rtf())

# filetype reports APNG separately; an APNG is still a valid PNG.
_IMAGE_TYPES = {
    "image/jpeg": "image/jpeg",
    "image/png": "image/png",
    "image/apng": "image/png",
    "image/webp": "image/webp",
}
# The media library's images: the still types plus GIF. HEIC is left out because Pillow
# cannot read it without a plugin, so no metadata could be taken from it.
_LIBRARY_IMAGE_TYPES = {**_IMAGE_TYPES, "image/gif": "image/gif"}

# Ogg logical streams announce their codec in the first packet of their BOS page.
_OGG_VIDEO_HEADERS = (b"\x80theora", b"OVP80", b"BBCD\x00")
_OGG_PAGE_HEADER = 27
_OGG_BOS = 0x02

_TS_SYNC = 0x47
_TS_MIN_PACKETS = 3
_TS_CHECKED_PACKETS = 8
# (offset of the first sync byte, packet length): plain TS, then M2TS/BDAV.
_TS_LAYOUTS = ((0, 188), (4, 192))

# ftyp brands that say "audio only" although filetype would call them video/mp4.
_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "}
# Video brands for when filetype cannot decide, e.g. a prefix cut inside the ftyp box.
_MP4_BRANDS = {
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1",
    b"dash", b"mmp4", b"M4V ", b"M4VH", b"M4VP", b"f4v ", b"MSNV", b"XAVC",
}  # fmt: skip

_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
_EBML_HEADER_BYTES = 64


def sniff_video(prefix: bytes) -> str | None:
    """Return the video content type of a file starting with prefix, or None."""
    head = bytes(prefix[:SNIFF_BYTES])
    if head.startswith(b"OggS"):
        return "video/ogg" if _ogg_has_video(head) else None
    if _is_mpegts(head):
        return "video/mp2t"
    brands = _ftyp_brands(head)
    if brands is not None:
        return _sniff_isobmff(head, *brands)
    kind = filetype.guess(head)
    return _video_type(kind) if kind is not None else _sniff_ebml(head)


def sniff_image(prefix: bytes) -> str | None:
    """Return image/jpeg, image/png or image/webp for a file starting with prefix, or None."""
    kind = filetype.guess(bytes(prefix[:SNIFF_BYTES]))
    return _IMAGE_TYPES.get(kind.mime) if kind is not None else None


def sniff_pdf(prefix: bytes) -> str | None:
    """Return application/pdf for a file that opens with a PDF header (%PDF-1.x or 2.x)."""
    return PDF if _PDF_HEADER.match(bytes(prefix[:16])) else None


def sniff_document(prefix: bytes) -> str | None:
    """Return the document type of a file starting with prefix (one of DOCUMENT_TYPES), or None."""
    if sniff_pdf(prefix):
        return PDF
    head = bytes(prefix[:SNIFF_BYTES])
    kind = filetype.match(head, matchers=_OTHER_DOCUMENTS)
    return kind.mime if kind is not None and kind.mime in DOCUMENT_TYPES else None


def sniff_library_image(prefix: bytes) -> str | None:
    """Return image/jpeg, image/png, image/webp or image/gif for a file starting with prefix."""
    kind = filetype.guess(bytes(prefix[:SNIFF_BYTES]))
    return _LIBRARY_IMAGE_TYPES.get(kind.mime) if kind is not None else None


def sniff_library_media(prefix: bytes) -> str | None:
    """Return the type of a library image (sniff_library_image) or video (sniff_video)."""
    return sniff_library_image(prefix) or sniff_video(prefix)


def _video_type(kind: filetype.Type) -> str | None:
    """Return filetype's answer when it is a video type we can store."""
    return kind.mime if kind.mime.startswith("video/") and kind.mime in EXTENSIONS else None


def _ogg_has_video(head: bytes) -> bool:
    """Tell whether any beginning-of-stream page in head opens a video stream."""
    for header_type, body in _ogg_pages(head):
        if not header_type & _OGG_BOS:
            # All BOS pages precede every other page, so no video stream can follow.
            return False
        if body.startswith(_OGG_VIDEO_HEADERS):
            return True
    return False


def _ogg_pages(head: bytes) -> Iterator[tuple[int, bytes]]:
    """Yield (header_type, body) for each Ogg page whose header lies within head."""
    pos = 0
    while head.startswith(b"OggS", pos) and pos + _OGG_PAGE_HEADER <= len(head):
        segments = head[pos + 26]
        table_end = pos + _OGG_PAGE_HEADER + segments
        if table_end > len(head):
            return
        body_end = table_end + sum(head[pos + _OGG_PAGE_HEADER : table_end])
        yield head[pos + 5], head[table_end:body_end]
        pos = body_end


def _is_mpegts(head: bytes) -> bool:
    """Tell whether head holds at least three sync-aligned TS or M2TS packets."""
    for first, length in _TS_LAYOUTS:
        syncs = range(first, len(head), length)[:_TS_CHECKED_PACKETS]
        if len(syncs) >= _TS_MIN_PACKETS and all(head[i] == _TS_SYNC for i in syncs):
            return True
    return False


def _ftyp_brands(head: bytes) -> tuple[bytes, set[bytes]] | None:
    """Return the major and compatible brands of a leading ftyp box, or None."""
    if len(head) < 12 or head[4:8] != b"ftyp":
        return None
    body = head[8 : int.from_bytes(head[:4], "big")]
    compatible = {body[i : i + 4] for i in range(8, len(body) - 3, 4)}
    return body[:4], compatible


def _sniff_isobmff(head: bytes, major: bytes, compatible: set[bytes]) -> str | None:
    """Classify an ISO-BMFF file by filetype first, then by its brands."""
    if major in _AUDIO_BRANDS:
        return None
    if major[:3] in (b"3gp", b"3g2"):
        # filetype's 3GP matcher looks for the brand at the wrong offset.
        return "video/3gpp"
    kind = filetype.guess(head)
    if kind is not None:
        # HEIC/AVIF and other ISO-BMFF images land here and are not video.
        return _video_type(kind)
    if major == b"qt  ":
        return "video/quicktime"
    return "video/mp4" if ({major} | compatible) & _MP4_BRANDS else None


def _sniff_ebml(head: bytes) -> str | None:
    """Read the Matroska DocType that filetype missed because of a wide size field."""
    if not head.startswith(_EBML_MAGIC):
        return None
    header = head[:_EBML_HEADER_BYTES]
    if b"webm" in header:
        return "video/webm"
    return "video/x-matroska" if b"matroska" in header else None
