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


def test_object_names_never_contain_the_file_name_and_are_unique():
    first, second = new_object_name("videos", "alice"), new_object_name("videos", "alice")
    assert first != second
    assert first.split("/")[:2] == second.split("/")[:2]
    assert first.startswith("videos/") and "alice" not in first
