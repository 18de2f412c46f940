"""Range parsing and download names, as plain functions."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from services.core.errors import RangeNotSatisfiable
from services.core.transfer import ByteRange, content_disposition, parse_range


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-0", ByteRange(0, 0, 100)),
        ("bytes=10-", ByteRange(10, 99, 100, open_ended=True)),
        ("bytes=-1", ByteRange(99, 99, 100)),
        ("bytes=-1000", ByteRange(0, 99, 100)),
        ("bytes=90-1000", ByteRange(90, 99, 100)),
        ("BYTES = 5 - 9", ByteRange(5, 9, 100)),
    ],
)
def test_single_ranges(header, expected):
    assert parse_range(header, 100) == expected


@pytest.mark.parametrize(
    "header",
    [None, "", "bytes=", "bytes=-", "bytes=1-2,3-4", "pages=1-2", "bytes=5-1", "bytes=a-b"],
)
def test_ignored_ranges_mean_the_whole_object(header):
    assert parse_range(header, 100) is None


@pytest.mark.parametrize(
    ("header", "size"), [("bytes=100-", 100), ("bytes=-0", 100), ("bytes=0-", 0), ("bytes=-5", 0)]
)
def test_unsatisfiable_ranges(header, size):
    with pytest.raises(RangeNotSatisfiable) as caught:
        parse_range(header, size)
    assert caught.value.size == size


HUGE = "9" * 4301  # past Python's int-conversion limit (sys.get_int_max_str_digits)


@pytest.mark.parametrize("header", [f"bytes={HUGE}-", f"bytes={HUGE}-{HUGE}", f"bytes=0{HUGE}-"])
def test_a_start_of_thousands_of_digits_is_unsatisfiable(header):
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 100)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (f"bytes=10-{HUGE}", ByteRange(10, 99, 100)),
        (f"bytes=-{HUGE}", ByteRange(0, 99, 100)),
        (f"bytes={'0' * 5000}7-{'0' * 5000}9", ByteRange(7, 9, 100)),
    ],
)
def test_an_end_or_suffix_of_thousands_of_digits_is_clamped(header, expected):
    assert parse_range(header, 100) == expected


def test_non_ascii_digits_are_not_numbers():
    assert parse_range("bytes=\u0661-\u0662", 100) is None


def test_open_ranges_are_sliced_and_closed_ranges_are_not():
    assert parse_range("bytes=0-", 100).sliced(10) == ByteRange(0, 9, 100, open_ended=True)
    assert parse_range("bytes=0-50", 100).sliced(10) == ByteRange(0, 50, 100)
    assert parse_range("bytes=95-", 100).sliced(10).content_range == "bytes 95-99/100"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.mp4", 'attachment; filename="a.mp4"'),
        (
            'say "hi".mp4',
            "attachment; filename=\"say _hi_.mp4\"; filename*=UTF-8''say%20%22hi%22.mp4",
        ),
        ("日本.mp4", "attachment; filename=\".mp4\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.mp4"),
        ("日本", "attachment; filename=\"download\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC"),
    ],
)
def test_content_disposition(name, expected):
    assert content_disposition(name) == expected


@pytest.mark.parametrize(
    "name",
    [
        "\u2024\u2024\uff0f\u2024\u2024\uff0fetc\uff0fpasswd",  # ․․／․․／etc／passwd
        "\u2025\uff0fx.mp4",  # ‥／x.mp4
        "\u2026\uff0fx.mp4",  # …／x.mp4
        "\uff0e\uff0e\uff3cx.mp4",  # ．．＼x.mp4
        "\ufe52\ufe52\u2044x.mp4",  # SMALL FULL STOP, FRACTION SLASH
        "..hidden.mp4",
        "a\\b.mp4",
    ],
)
def test_ascii_fallback_never_holds_a_path_separator_or_dot_dot(name):
    value = content_disposition(name)
    fallback = re.search(r'filename="([^"]*)"', value).group(1)
    assert "/" not in fallback and "\\" not in fallback and ".." not in fallback
    assert value.endswith(f"; filename*=UTF-8''{quote(name, safe='')}")


@pytest.mark.parametrize("name", ["\u2024.mp4", "\u2024"])
def test_ascii_fallback_is_never_a_bare_dot(name):
    fallback = re.search(r'filename="([^"]*)"', content_disposition(name)).group(1)
    assert fallback not in {".", ".."}
