"""File-name rules and object names."""

from __future__ import annotations

import pytest

from services.core.errors import InvalidRequest
from services.core.names import check_filename, new_object_name


@pytest.mark.parametrize(
    "name",
    ["a.mp4", "vidéo 日本語 🎬.mp4", "x" * 255, "é" * 127, "..hidden.mp4", "name with spaces.webm"],
)
def test_acceptable_names_are_returned_unchanged(name):
    assert check_filename(name) == name


@pytest.mark.parametrize(
    "name",
    [None, "", ".", "..", "a/b", "a\\b", "../x", "a\x00b", "a\nb", "a\x7fb", "x" * 256, "é" * 128],
)
def test_unacceptable_names_are_refused(name):
    with pytest.raises(InvalidRequest, match="Invalid filename"):
        check_filename(name)


NFC, NFD = "caf\u00e9.mp4", "cafe\u0301.mp4"


def test_names_are_normalised_to_nfc():
    assert check_filename(NFD) == NFC
    assert check_filename(NFC) == NFC
    assert check_filename("\u212b.mp4") == "\u00c5.mp4"  # ANGSTROM SIGN is A WITH RING in NFC


def test_the_length_limit_applies_to_the_normalised_name():
    # U+0958 decomposes under NFC (a composition exclusion): 3 bytes become 6.
    assert check_filename("\u0958" * 42) == "\u0915\u093c" * 42
    with pytest.raises(InvalidRequest, match="longer than 255 bytes"):
        check_filename("\u0958" * 43)


@pytest.mark.parametrize(
    "char",
    [
        *map(chr, range(0x202A, 0x202F)),
        *map(chr, range(0x2066, 0x206A)),
        "\u200e",
        "\u200f",
        "\u061c",
    ],
)
def test_text_direction_controls_are_refused_by_name(char):
    with pytest.raises(InvalidRequest) as caught:
        check_filename(f"evil{char}4pm.exe")
    message = caught.value.message
    assert message.startswith("Invalid filename: ")
    assert f"U+{ord(char):04X}" in message and "direction" in message


@pytest.mark.parametrize(
    "char",
    [
        "\u200b",  # ZERO WIDTH SPACE
        "\u200c",  # ZERO WIDTH NON-JOINER
        "\u200d",  # ZERO WIDTH JOINER
        "\u2060",  # WORD JOINER
        "\ufeff",  # ZERO WIDTH NO-BREAK SPACE (BOM)
        "\u00ad",  # SOFT HYPHEN (Cf)
        "\u180e",  # MONGOLIAN VOWEL SEPARATOR (Cf)
        "\U000e0041",  # TAG LATIN CAPITAL LETTER A (Cf)
        "\u034f",  # COMBINING GRAPHEME JOINER (default ignorable, Mn)
        "\u115f",  # HANGUL CHOSEONG FILLER (default ignorable, Lo)
        "\u3164",  # HANGUL FILLER
        "\uffa0",  # HALFWIDTH HANGUL FILLER
        "\u17b4",  # KHMER VOWEL INHERENT AQ
        "\u180b",  # MONGOLIAN FREE VARIATION SELECTOR ONE
        "\ufe00",  # VARIATION SELECTOR-1
        "\U000e0100",  # VARIATION SELECTOR-17
        "\u2028",  # LINE SEPARATOR
        "\u2029",  # PARAGRAPH SEPARATOR
    ],
)
def test_invisible_characters_are_refused_by_name(char):
    with pytest.raises(InvalidRequest) as caught:
        check_filename(f"a{char}b.mp4")
    message = caught.value.message
    assert message.startswith("Invalid filename: ")
    assert f"U+{ord(char):04X}" in message and "invisible" in message


@pytest.mark.parametrize(
    "name", ["\u2764\ufe0f.mp4", "\u263a\ufe0e.mp4", "\u05e9\u05dc\u05d5\u05dd.mp4"]
)
def test_emoji_presentation_selectors_and_right_to_left_scripts_are_accepted(name):
    assert check_filename(name) == name


def test_object_names_never_contain_the_file_name_and_are_unique():
    first, second = new_object_name("videos", "alice"), new_object_name("videos", "alice")
    assert first != second
    assert first.split("/")[:2] == second.split("/")[:2]
    assert first.startswith("videos/") and "alice" not in first
