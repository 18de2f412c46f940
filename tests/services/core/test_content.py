"""Content checks: stored objects are decoded, impostors refused, reads and pixels bounded."""

from __future__ import annotations

import pytest

from services.core.content import ContentCheck, ContentLimits
from services.core.errors import (
    ObjectMissing,
    PayloadTooLarge,
    StorageUnavailable,
    UnsupportedMediaType,
)
from services.core.ingest import Accept, Ingest
from services.core.sniff import sniff_video
from tests.blueprints.media.helpers import make_pdf
from tests.fixtures.entities import make_picture
from tests.media import (
    make_audio,
    make_ftyp_impostor,
    make_image,
    make_png_bomb,
    make_video,
    make_video_of_size,
)

MIB = 1024 * 1024


def stored(store, data: bytes, content_type: str, name: str = "objects/x"):
    writer = store.open_writer(name, content_type)
    writer.write(data)
    return writer.commit()


def verify(store, data: bytes, content_type: str, check: ContentCheck | None = None) -> None:
    (check or ContentCheck()).verify(store, stored(store, data, content_type), "refused")


@pytest.mark.parametrize(
    ("make", "content_type"),
    [
        (lambda: make_video("mp4"), "video/mp4"),
        (lambda: make_video("webm"), "video/webm"),
        (lambda: make_video("mkv"), "video/x-matroska"),
        (lambda: make_video("ogg"), "video/ogg"),
        (lambda: make_video("ts"), "video/mp2t"),
        (lambda: make_video("mov"), "video/quicktime"),
        (lambda: make_image("png"), "image/png"),
        (lambda: make_image("jpeg", (256, 192)), "image/jpeg"),
        (lambda: make_image("webp"), "image/webp"),
        (lambda: make_picture("GIF", (20, 10)), "image/gif"),
        (make_pdf, "application/pdf"),
    ],
    ids=["mp4", "webm", "mkv", "ogg", "ts", "mov", "png", "jpeg", "webp", "gif", "pdf"],
)
def test_real_files_pass(store, make, content_type):
    verify(store, make(), content_type)


@pytest.mark.parametrize(
    ("make", "content_type"),
    [
        (make_ftyp_impostor, "video/mp4"),
        (lambda: make_audio("mp4"), "video/mp4"),
        (lambda: make_audio("webm"), "video/webm"),
        (lambda: make_audio("mka"), "video/x-matroska"),
        (lambda: make_video("webm")[:400], "video/webm"),
        (lambda: make_image("jpeg", (256, 192))[:400], "image/jpeg"),
        (lambda: make_image("png", (64, 64))[:-40], "image/png"),
        (lambda: b"RIFF\x10\x00\x00\x00WEBPVP8 " + bytes(64), "image/webp"),
        (lambda: b"%PDF-1.7\n" + b"not a PDF body " * 200, "application/pdf"),
        (lambda: make_pdf()[:60], "application/pdf"),
    ],
    ids=[
        "ftyp-garbage",
        "audio-only-mp4",
        "audio-only-webm",
        "audio-only-mkv",
        "truncated-webm",
        "truncated-jpeg",
        "truncated-png",
        "webp-header-only",
        "fake-pdf",
        "truncated-pdf",
    ],
)
def test_impostors_are_unsupported_media(store, make, content_type):
    with pytest.raises(UnsupportedMediaType, match="refused"):
        verify(store, make(), content_type)


def test_an_image_declaring_too_many_pixels_is_too_large_before_it_is_decoded(store):
    bomb = make_png_bomb(8000, 8000)
    assert len(bomb) < 64 * 1024  # small on the wire, 64 megapixels once decoded
    with pytest.raises(PayloadTooLarge):
        verify(store, bomb, "image/png")


def test_the_pixel_limit_is_a_setting(store):
    small = ContentCheck(ContentLimits(max_image_pixels=32 * 32))
    verify(store, make_image("png", (32, 32)), "image/png", small)
    with pytest.raises(PayloadTooLarge):
        verify(store, make_image("png", (33, 32)), "image/png", small)


class ReadCountingStore:
    """A real store that counts the bytes read from it by range."""

    def __init__(self, store) -> None:
        self.store, self.bytes_read = store, 0

    def __getattr__(self, name: str):
        return getattr(self.store, name)

    def read_range(self, name: str, start: int, end: int):
        self.bytes_read += end - start + 1
        return self.store.read_range(name, start, end)


def test_a_large_video_is_judged_from_a_few_ranged_reads(store):
    info = stored(store, make_video_of_size(50 * MIB), "video/mp4")
    counting = ReadCountingStore(store)
    ContentCheck().verify(counting, info, "refused")
    assert 0 < counting.bytes_read <= 4 * MIB


def test_the_read_budget_bounds_what_one_check_fetches(store):
    check = ContentCheck(ContentLimits(max_read_bytes=1024))
    with pytest.raises(UnsupportedMediaType):
        verify(store, make_video("mp4", seconds=2.0), "video/mp4", check)


def test_a_video_without_a_frame_within_the_packet_budget_is_refused(store):
    check = ContentCheck(ContentLimits(max_packets=0))
    with pytest.raises(UnsupportedMediaType):
        verify(store, make_video("mp4"), "video/mp4", check)


def test_types_without_a_decoder_are_left_to_the_sniffer(store):
    verify(store, b"PK\x03\x04 anything", "application/vnd.oasis.opendocument.text")


class UnreadableStore:
    """A real store whose ranged reads fail as an outage would."""

    def __init__(self, store) -> None:
        self.store = store

    def __getattr__(self, name: str):
        return getattr(self.store, name)

    def read_range(self, name: str, start: int, end: int):
        raise StorageUnavailable("injected read failure")


@pytest.mark.parametrize(
    ("make", "content_type"),
    [
        (lambda: make_video("mp4"), "video/mp4"),
        (lambda: make_image("png"), "image/png"),
        (make_pdf, "application/pdf"),
    ],
    ids=["video", "image", "pdf"],
)
def test_a_storage_outage_during_the_check_is_503_not_415(store, make, content_type):
    info = stored(store, make(), content_type)
    with pytest.raises(StorageUnavailable):
        ContentCheck().verify(UnreadableStore(store), info, "refused")


@pytest.mark.parametrize("backend", ["store", "gcs_store"], ids=["local", "gcs"])
def test_ingest_deletes_an_impostor_it_stored_on_either_backend(request, backend):
    store = request.getfixturevalue(backend)
    accept = Accept(sniff_video, 10 * MIB, unsupported="videos only")
    chunks = iter([make_ftyp_impostor(64 * 1024)])
    with pytest.raises(UnsupportedMediaType, match="videos only"):
        Ingest(store).store_upload(chunks, accept, lambda _kind: "videos/impostor")
    with pytest.raises(ObjectMissing):
        store.stat("videos/impostor")
    good = Ingest(store).store_upload(iter([make_video("mp4")]), accept, lambda _: "videos/real")
    assert store.stat("videos/real").size == good.size
