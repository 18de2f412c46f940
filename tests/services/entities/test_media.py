"""Metadata from real images and videos, read by ranges from the store."""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime

import pytest
from PIL import Image

from services.entities.media import MediaInfo, read_media_info
from services.storage.objects.rangefile import ObjectFile
from tests.fixtures.entities import exif_with, make_dated_video, make_picture, video
from tests.media import write_video_of_size


def _stored(store, data: bytes, content_type: str, name: str = "entities/probe"):
    writer = store.open_writer(name, content_type)
    writer.write(data)
    return writer.commit()


def test_jpeg_exif_date_time_original_is_the_create_date(store):
    data = make_picture("JPEG", (40, 30), exif=exif_with(original="2022:07:08 09:10:11"))

    info = read_media_info(store, _stored(store, data, "image/jpeg"))

    assert info == MediaInfo(40, 30, None, datetime(2022, 7, 8, 9, 10, 11, tzinfo=UTC))


def test_create_date_falls_back_to_exif_create_date(store):
    data = make_picture("JPEG", exif=exif_with(created="2020:01:02 03:04:05"))

    info = read_media_info(store, _stored(store, data, "image/jpeg"))

    assert info.create_date == datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_an_exif_offset_turns_local_time_into_utc(store):
    exif = exif_with(original="2022:07:08 09:10:11", offset="+02:00")

    info = read_media_info(store, _stored(store, make_picture("JPEG", exif=exif), "image/jpeg"))

    assert info.create_date == datetime(2022, 7, 8, 7, 10, 11, tzinfo=UTC)


def test_blank_exif_dates_give_no_create_date(store):
    exif = exif_with(original="0000:00:00 00:00:00")

    info = read_media_info(store, _stored(store, make_picture("JPEG", exif=exif), "image/jpeg"))

    assert info.create_date is None and info.width == 40


def test_png_size_and_exif_date(store):
    data = make_picture("PNG", (21, 13), exif=exif_with(original="2019:05:06 07:08:09"))

    info = read_media_info(store, _stored(store, data, "image/png"))

    assert info == MediaInfo(21, 13, None, datetime(2019, 5, 6, 7, 8, 9, tzinfo=UTC))


@pytest.mark.parametrize("options", [{"lossless": False}, {"lossless": True}], ids=["vp8", "vp8l"])
def test_webp_size_and_exif_date_without_pillow_reading_it_whole(store, options):
    data = make_picture("WEBP", (31, 17), exif=exif_with(original="2018:01:01 00:00:01"), **options)

    info = read_media_info(store, _stored(store, data, "image/webp"))

    assert info == MediaInfo(31, 17, None, datetime(2018, 1, 1, 0, 0, 1, tzinfo=UTC))


def test_webp_without_exif_has_its_size(store):
    info = read_media_info(store, _stored(store, make_picture("WEBP", (9, 7)), "image/webp"))

    assert info == MediaInfo(9, 7)


def test_gif_size(store):
    info = read_media_info(store, _stored(store, make_picture("GIF", (12, 5)), "image/gif"))

    assert info == MediaInfo(12, 5)


def test_mp4_duration_size_and_creation_time(store):
    data = make_dated_video("mp4", "2021-03-04T05:06:07.000000Z")

    info = read_media_info(store, _stored(store, data, "video/mp4"))

    assert (info.width, info.height) == (32, 24)
    assert info.duration == pytest.approx(1.0, abs=0.11)
    assert info.create_date == datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC)


def test_webm_duration_size_and_creation_time(store):
    data = make_dated_video("webm", "2020-02-03T04:05:06.000000Z")

    info = read_media_info(store, _stored(store, data, "video/webm"))

    assert (info.width, info.height) == (32, 24)
    assert info.duration == pytest.approx(1.0, abs=0.11)
    assert info.create_date == datetime(2020, 2, 3, 4, 5, 6, tzinfo=UTC)


@pytest.mark.parametrize("fmt", ["mkv", "mov", "avi", "ts", "ogg"])
def test_other_containers_give_size_and_duration(store, fmt):
    info = read_media_info(store, _stored(store, video(fmt, 2.0, (64, 48)), "video/x-test"))

    assert (info.width, info.height) == (64, 48)
    assert info.duration == pytest.approx(2.0, abs=0.35)


def test_a_large_video_is_probed_without_reading_it(store, tmp_path):
    path = tmp_path / "big.mp4"
    write_video_of_size(path, 64 * 1024 * 1024)
    writer = store.open_writer("entities/big", "video/mp4")
    with open(path, "rb") as source:
        while chunk := source.read(1024 * 1024):
            writer.write(chunk)
    info = writer.commit()
    reads: list[int] = []

    media = read_media_info(_counting(store, reads), info)

    assert (media.width, media.height) == (16, 16)
    assert sum(reads) <= 4 * 1024 * 1024


def test_a_file_that_sniffed_right_but_does_not_parse_has_no_metadata(store):
    broken = make_picture("JPEG")[:40]

    assert read_media_info(store, _stored(store, broken, "image/jpeg")) == MediaInfo()


def test_a_range_file_reads_and_seeks_like_a_file(store):
    data = bytes(range(256)) * 40
    file = ObjectFile(store, _stored(store, data, "image/png").name, len(data), window=1000)

    assert file.read(10) == data[:10]
    file.seek(-5, io.SEEK_END)
    assert file.read() == data[-5:]
    file.seek(2500)
    assert file.read(1000) == data[2500:3500]
    assert file.read(0) == b""
    file.seek(len(data) + 3)
    assert file.read(4) == b""


def _counting(store, reads: list[int]):
    class Counting:
        def __getattr__(self, name):
            return getattr(store, name)

        def read_range(self, name, start, end):
            reads.append(end - start + 1)
            return store.read_range(name, start, end)

    return Counting()


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_a_large_image_is_not_decoded_to_find_its_metadata(store, fmt):
    noise = Image.frombytes("RGB", (1200, 1200), random.Random(4).randbytes(1200 * 1200 * 3))
    out = io.BytesIO()
    noise.save(out, fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    data = out.getvalue()
    assert len(data) > 3 * 1024 * 1024
    reads: list[int] = []

    info = read_media_info(_counting(store, reads), _stored(store, data, f"image/{fmt.lower()}"))

    assert (info.width, info.height) == (1200, 1200)
    assert sum(reads) <= 1024 * 1024
