"""Content sniffing decides video and image types from leading bytes alone."""

from __future__ import annotations

import inspect
import io
import random
import struct
import zipfile

import av
import pytest

from services.core.sniff import (
    EXTENSIONS,
    SNIFF_BYTES,
    sniff_document,
    sniff_image,
    sniff_pdf,
    sniff_video,
)
from tests import media
from tests.blueprints.media.helpers import ELF, make_docx, make_pdf

EXPECTED_VIDEO = {
    "mp4": "video/mp4",
    "webm": "video/webm",
    "mkv": "video/x-matroska",
    "ogg": "video/ogg",
    "avi": "video/x-msvideo",
    "mov": "video/quicktime",
    "ts": "video/mp2t",
    "m2ts": "video/mp2t",
    "3gp": "video/3gpp",
    "m4v": "video/mp4",
    "flv": "video/x-flv",
    "mpg": "video/mpeg",
    "wmv": "video/x-ms-wmv",
}

EXPECTED_IMAGE = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}

# Shortest prefixes that must still sniff: a box or page header, or three TS packets.
SHORT_PREFIXES = {
    "mp4": 20, "m4v": 64, "mov": 64, "3gp": 64, "webm": 64, "mkv": 64, "ogg": 64,
    "avi": 64, "flv": 64, "wmv": 64, "mpg": 64, "ts": 3 * 188 - 187, "m2ts": 3 * 192 - 187,
}  # fmt: skip


def _zip_bytes() -> bytes:
    """Return a small ZIP archive."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("clip.mp4", b"not a video")
    return out.getvalue()


NOT_VIDEO = {
    "text": b"just some words\n" * 20,
    "html": b"<!DOCTYPE html><html><head><title>x</title></head><body>video</body></html>",
    "pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
    "zip": _zip_bytes(),
    "random": random.Random(0).randbytes(SNIFF_BYTES),
    "empty": b"",
}


def _first_frame(data: bytes) -> av.VideoFrame:
    """Decode the first video frame of an in-memory file."""
    with av.open(io.BytesIO(data)) as container:
        return next(container.decode(video=0))


def _ogg_page(packet: bytes, *, bos: bool = True, serial: int = 1) -> bytes:
    """Build one Ogg page holding packet (CRC left zero: sniffing does not check it)."""
    lacing = bytes([255] * (len(packet) // 255) + [len(packet) % 255])
    header = struct.pack("<4sBBqIII", b"OggS", 0, 0x02 if bos else 0, 0, serial, 0, 0)
    return header + bytes([len(lacing)]) + lacing + packet


def _ftyp(major: bytes, *compatible: bytes) -> bytes:
    """Build an ftyp box with the given brands."""
    body = major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return struct.pack(">I4s", 8 + len(body), b"ftyp") + body


def _ebml_header(doctype: bytes) -> bytes:
    """Build an EBML header whose DocType size uses a two-byte vint, as filetype misses."""
    body = b"\x42\x82" + bytes([0x40, len(doctype)]) + doctype
    return b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(body)]) + body


def test_every_generated_video_format_has_an_expectation() -> None:
    assert set(EXPECTED_VIDEO) == set(media.VIDEO_FORMATS) == set(SHORT_PREFIXES)


def test_every_reported_type_has_an_extension() -> None:
    for content_type in {*EXPECTED_VIDEO.values(), *EXPECTED_IMAGE.values()}:
        assert EXTENSIONS[content_type].startswith(".")


@pytest.mark.parametrize("fmt", sorted(media.VIDEO_FORMATS))
def test_generated_video_is_real_and_decodes(fmt: str) -> None:
    frame = _first_frame(media.make_video(fmt))
    assert (frame.width, frame.height) == (64, 48)


@pytest.mark.parametrize("fmt", sorted(media.VIDEO_FORMATS))
def test_sniff_video_names_the_container(fmt: str) -> None:
    assert sniff_video(media.make_video(fmt)[:SNIFF_BYTES]) == EXPECTED_VIDEO[fmt]


@pytest.mark.parametrize("fmt", sorted(media.VIDEO_FORMATS))
def test_sniff_video_needs_only_a_short_prefix(fmt: str) -> None:
    prefix = media.make_video(fmt)[: SHORT_PREFIXES[fmt]]
    assert sniff_video(prefix) == EXPECTED_VIDEO[fmt]


def test_truncated_mp4_header_still_sniffs() -> None:
    assert sniff_video(media.make_video("mp4")[:64]) == "video/mp4"


@pytest.mark.parametrize("fmt", ["ts", "m2ts"])
def test_two_transport_packets_are_not_enough(fmt: str) -> None:
    packet = 188 if fmt == "ts" else 192
    assert sniff_video(media.make_video(fmt)[: 2 * packet]) is None


@pytest.mark.parametrize("fmt", sorted(EXPECTED_IMAGE))
def test_sniff_image_names_the_image(fmt: str) -> None:
    assert sniff_image(media.make_image(fmt)) == EXPECTED_IMAGE[fmt]


@pytest.mark.parametrize("fmt", sorted(EXPECTED_IMAGE))
def test_images_are_not_video(fmt: str) -> None:
    assert sniff_video(media.make_image(fmt)) is None


@pytest.mark.parametrize("fmt", ["mp4", "webm", "avi"])
def test_videos_are_not_images(fmt: str) -> None:
    assert sniff_image(media.make_video(fmt)) is None


@pytest.mark.parametrize("name", sorted(NOT_VIDEO))
def test_non_media_is_neither_video_nor_image(name: str) -> None:
    assert sniff_video(NOT_VIDEO[name]) is None
    assert sniff_image(NOT_VIDEO[name]) is None


@pytest.mark.parametrize("fmt", sorted(media.AUDIO_FORMATS))
def test_audio_only_files_are_not_video(fmt: str) -> None:
    assert sniff_video(media.make_audio(fmt)) is None


def test_only_bytes_decide_so_a_jpeg_named_mp4_is_not_video() -> None:
    assert list(inspect.signature(sniff_video).parameters) == ["prefix"]
    assert sniff_video(media.make_image("jpeg")) is None


@pytest.mark.parametrize(
    "pages",
    [
        [_ogg_page(b"\x80theora\x03\x02\x01" + bytes(32))],
        [_ogg_page(b"BBCD\x00" + bytes(16))],
        [_ogg_page(b"\x01vorbis" + bytes(23)), _ogg_page(b"\x80theora" + bytes(35), serial=2)],
    ],
    ids=["theora", "dirac", "vorbis-then-theora"],
)
def test_ogg_with_a_video_stream_is_video(pages: list[bytes]) -> None:
    assert sniff_video(b"".join(pages)) == "video/ogg"


def test_ogg_with_only_audio_streams_is_not_video() -> None:
    pages = [_ogg_page(b"\x01vorbis" + bytes(23)), _ogg_page(b"OpusHead" + bytes(11), serial=2)]
    # A later non-BOS page cannot open a stream, whatever its payload looks like.
    pages.append(_ogg_page(b"\x80theora" + bytes(35), bos=False))
    assert sniff_video(b"".join(pages)) is None


@pytest.mark.parametrize(
    ("ftyp", "expected"),
    [
        (_ftyp(b"M4B ", b"M4B ", b"mp42", b"isom"), None),
        (_ftyp(b"heic", b"mif1", b"heic"), None),
        (_ftyp(b"dash", b"iso6", b"avc1"), "video/mp4"),
        (_ftyp(b"3g2a", b"3g2a"), "video/3gpp"),
    ],
    ids=["audiobook", "heic", "dash", "3gpp2"],
)
def test_iso_bmff_brands_decide(ftyp: bytes, expected: str | None) -> None:
    assert sniff_video(ftyp + struct.pack(">I4s", 8, b"mdat")) == expected


@pytest.mark.parametrize(
    ("doctype", "expected"), [(b"webm", "video/webm"), (b"matroska", "video/x-matroska")]
)
def test_matroska_doctype_with_wide_size_field(doctype: bytes, expected: str) -> None:
    assert sniff_video(_ebml_header(doctype)) == expected


@pytest.mark.parametrize("n_bytes", [1000, 1_048_576, 5_000_001])
def test_make_video_of_size_is_exact_and_playable(n_bytes: int) -> None:
    data = media.make_video_of_size(n_bytes)
    assert len(data) == n_bytes
    assert sniff_video(data[:SNIFF_BYTES]) == "video/mp4"
    assert _first_frame(data).width == 16


def test_make_video_of_size_smallest_size_is_playable() -> None:
    data = media.make_video_of_size(media.min_video_size())
    assert len(data) == media.min_video_size()
    assert _first_frame(data).width == 16


def test_make_video_of_size_refuses_what_it_cannot_make() -> None:
    with pytest.raises(ValueError):
        media.make_video_of_size(media.min_video_size() - 1)
    with pytest.raises(ValueError):
        media.make_video_of_size(10_000, fmt="webm")


def test_write_video_of_size_streams_the_same_bytes(tmp_path) -> None:
    path = tmp_path / "big.mp4"
    n_bytes = 3 * 1024 * 1024 + 17
    media.write_video_of_size(path, n_bytes)
    assert path.read_bytes() == media.make_video_of_size(n_bytes)


# Documents (the media API).


def test_a_pdf_is_recognised_by_its_header():
    assert sniff_pdf(make_pdf()) == "application/pdf"
    assert sniff_document(make_pdf()) == "application/pdf"
    assert sniff_pdf(b"%PDF-2.0\n") == "application/pdf"


@pytest.mark.parametrize(
    "data",
    [b"%PDF-", b"%PDF-x.y", b" %PDF-1.4", b"%pdf-1.4", b"PDF-1.4", ELF, b""],
    ids=["bare", "no-version", "leading-space", "lower-case", "no-percent", "elf", "empty"],
)
def test_what_only_looks_like_a_pdf_is_not(data):
    assert sniff_pdf(data) is None and sniff_document(data) is None


def test_office_and_rtf_documents_are_recognised():
    assert (
        sniff_document(make_docx())
        == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    assert sniff_document(b"{\\rtf1\\ansi hello}") == "application/rtf"


def test_a_plain_zip_is_not_a_document():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("notes.txt", "hello")
    assert sniff_document(out.getvalue()) is None
