"""Previews: a real frame or a scaled image, made once per original version, by ranges."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image

from services.core.errors import UnsupportedMediaType
from services.previews import Previews
from services.storage.objects.rangefile import ObjectFile
from tests.fixtures.objects import put
from tests.media import make_image, make_video


@pytest.fixture(params=["store", "gcs_store"], ids=["local", "gcs"])
def backend(request):
    return request.getfixturevalue(request.param)


@pytest.fixture
def previews(backend, database, clock):
    return Previews(store=backend, records=database["previews"], clock=clock)


def jpeg_size(previews, info) -> tuple[int, int]:
    data = b"".join(previews.store.read_range(info.name, 0, info.size - 1))
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG"
        return image.size


def test_a_video_poster_is_a_scaled_frame_kept_beside_it(previews, backend):
    source = put(
        backend, "videos/u/v1", make_video("webm", seconds=4, size=(640, 360), fps=10), "video/webm"
    )
    info = previews.preview(source)
    assert info.name == "videos/u/v1.preview.jpg" and info.content_type == "image/jpeg"
    assert jpeg_size(previews, info) == (320, 180)
    again = previews.preview(source)
    assert (again.generation, previews.renders) == (info.generation, 1)


def test_an_image_thumbnail_fits_the_edge(previews, backend):
    source = put(backend, "media/u/i1", make_image("png", size=(1000, 400)), "image/png")
    assert jpeg_size(previews, previews.preview(source)) == (320, 128)


def test_many_at_once_make_one(previews, backend):
    source = put(backend, "videos/u/v2", make_video("mp4", seconds=2), "video/mp4")
    with ThreadPoolExecutor(max_workers=8) as pool:
        made = list(pool.map(lambda _: previews.preview(source).generation, range(8)))
    assert len(set(made)) == 1 and previews.renders == 1


def test_a_new_version_of_the_original_gets_a_new_preview(previews, backend):
    first = put(backend, "videos/u/v3", make_video("mp4", seconds=1), "video/mp4")
    previews.preview(first)
    second = put(backend, "videos/u/v3", make_video("webm", seconds=1), "video/webm")
    previews.preview(second)
    assert previews.renders == 2


def test_a_second_instance_finds_the_preview_made_by_the_first(backend, database, clock):
    source = put(backend, "videos/u/v4", make_video("mp4", seconds=1), "video/mp4")
    first = Previews(store=backend, records=database["previews"], clock=clock)
    second = Previews(store=backend, records=database["previews"], clock=clock)
    assert first.preview(source).generation == second.preview(source).generation
    assert (first.renders, second.renders) == (1, 0)


def test_what_cannot_be_decoded_has_no_preview_and_leaves_nothing(previews, backend, database):
    source = put(backend, "videos/u/bad", b"\x00\x00\x00\x18ftypisom" + b"\x00" * 5000, "video/mp4")
    with pytest.raises(UnsupportedMediaType):
        previews.preview(source)
    assert database["previews"].count_documents({}) == 0


def test_a_poster_reads_only_part_of_a_long_video(store):
    video = make_video("mp4", seconds=30, size=(320, 240), fps=25)
    info = put(store, "videos/u/long", video, "video/mp4")
    file = ObjectFile(store, info.name, info.size, window=64 * 1024)
    from services.previews.render import video_poster

    video_poster(file)
    assert file.bytes_read < len(video)
