"""The one multipart parser: every part in order, files streamed, names exactly as sent."""

from __future__ import annotations

import io

import pytest

from blueprints._http.multipart import MultipartForm, boundary_of
from services.core.errors import InvalidRequest

BOUNDARY = "----formboundary7MA4YWxk"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def part(field: str, data: bytes, filename: bytes | None = None, disposition: bytes | None = None):
    """One part as raw bytes; `disposition` replaces the whole Content-Disposition value."""
    if disposition is None:
        disposition = b'form-data; name="' + field.encode() + b'"'
        if filename is not None:
            disposition += b'; filename="' + filename + b'"'
    head = b"Content-Disposition: " + disposition + b"\r\nContent-Type: application/octet-stream"
    return b"--" + BOUNDARY.encode() + b"\r\n" + head + b"\r\n\r\n" + data + b"\r\n"


def body(*parts: bytes) -> bytes:
    return b"".join(parts) + b"--" + BOUNDARY.encode() + b"--\r\n"


class Trickle(io.RawIOBase):
    """A body that hands out at most `size` bytes per read, like a slow socket."""

    def __init__(self, data: bytes, size: int) -> None:
        self._data, self._size = io.BytesIO(data), size

    @property
    def consumed(self) -> int:
        return self._data.tell()

    def read(self, n: int = -1) -> bytes:
        return self._data.read(min(self._size, n if n > 0 else self._size))


def read_all(form: MultipartForm) -> list[tuple[str, str, bytes]]:
    return [(p.field, p.filename, b"".join(p.chunks)) for p in form.file_parts()]


def form(raw: bytes, read: int = 7, **kwargs) -> MultipartForm:
    kwargs.setdefault("files", {"file": 1})
    return MultipartForm(Trickle(raw, read), CONTENT_TYPE, read_bytes=read, **kwargs)


@pytest.mark.parametrize("read", [1, 2, 7, 31, 4096])
def test_files_and_fields_come_out_whole_whatever_the_read_size(read):
    video = bytes(range(256)) * 40 + b"\r\n--" + b"not the boundary" + b"\r\n-"
    raw = body(part("note", "héllo".encode()), part("file", video, b"clip.mp4"), part("n", b"2"))
    parsed = form(raw, read, fields={"note": 100, "n": 5})
    assert read_all(parsed) == [("file", "clip.mp4", video)]
    assert parsed.values == {"note": "héllo", "n": "2"}


def test_a_part_is_handed_out_before_its_bytes_are_read():
    raw = body(part("files", b"a" * 5000, b"s0.png"), part("files", b"b" * 3000, b"s1.png"))
    stream = Trickle(raw, 1000)
    parts = MultipartForm(stream, CONTENT_TYPE, files={"files": None}, read_bytes=1000).file_parts()
    first = next(parts)
    assert stream.consumed <= 1000
    assert b"".join(first.chunks) == b"a" * 5000 and stream.consumed < len(raw)
    assert [(p.filename, b"".join(p.chunks)) for p in parts] == [("s1.png", b"b" * 3000)]


@pytest.mark.parametrize("read", [1, 5, 64, 4096])
def test_a_second_file_is_refused_whatever_the_read_size(read):
    raw = body(part("file", b"x" * 300, b"a.mp4"), part("file", b"y" * 300, b"b.mp4"))
    with pytest.raises(InvalidRequest, match="At most 1 file in form field 'file'"):
        read_all(form(raw, read))


@pytest.mark.parametrize("read", [1, 5, 4096])
def test_an_unexpected_part_after_the_file_is_refused_before_the_file_ends(read):
    raw = body(part("file", b"x" * 300, b"a.mp4"), part("extra", b"1"))
    only = next(form(raw, read).file_parts())
    with pytest.raises(InvalidRequest, match="Unexpected form field 'extra'"):
        b"".join(only.chunks)


@pytest.mark.parametrize(
    "raw, message",
    [
        (body(part("file", b"1", b"a.mp4"))[:-10], "ended before the file was complete"),
        (b"no boundary anywhere", "Malformed multipart body"),
        (body(part("file", b"1")), "must be a file"),
        (body(part("note", b"1", b"x.txt")), "must not be a file"),
        (body(part("note", b"a"), part("note", b"b"), part("file", b"1", b"a.mp4")), "repeated"),
        (body(part("note", b"x" * 101)), "longer than 100 bytes"),
        (body(part("note", b"\xff")), "not valid UTF-8"),
        (body(part("file", b"1", disposition=b"attachment")), "Malformed"),
        (body(part("file", b"1", disposition=b'form-data; filename="a"')), "has no name"),
    ],
    ids=["truncated", "no-delimiter", "text-in-file-field", "file-in-text-field", "repeat",
         "long-field", "field-not-utf8", "not-form-data", "nameless"],
)  # fmt: skip
def test_broken_bodies_are_refused_with_a_reason(raw, message):
    with pytest.raises(InvalidRequest, match=message):
        read_all(form(raw, fields={"note": 100}))


@pytest.mark.parametrize(
    "raw_name, expected",
    [
        (b"caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac.mp4", "café 日本.mp4"),
        (b'q\\"uote.mp4', 'q"uote.mp4'),  # curl escapes a quote
        (b"a\\\\b.mp4", "a\\b.mp4"),  # and a backslash: the name rules refuse it later
        (b"50% off.mp4", "50% off.mp4"),
    ],
)
def test_file_names_arrive_exactly_as_sent(raw_name, expected):
    [(_, name, _)] = read_all(form(body(part("file", b"1", raw_name))))
    assert name == expected


@pytest.mark.parametrize(
    "disposition, message",
    [
        (b'form-data; name="file"; filename="a\xff.mp4"', "not valid UTF-8"),
        (b'form-data; name="file"; filename="\xed\xa0\x80.mp4"', "not valid UTF-8"),  # surrogate
        (b'form-data; name="file"; filename="a\\b.mp4"', "backslash escapes nothing"),
        (b'form-data; name="file"; filename="q"uote.mp4"', "unexpected text after a value"),
        (b'form-data; name="file"; filename="a', "unterminated"),
        (b'form-data; name="file"; filename="a"; filename="b"', "repeats 'filename'"),
        (b"form-data; name=\"file\"; filename*=latin-1''caf%E9", "must be UTF-8"),
    ],
    ids=["invalid-utf8", "lone-surrogate", "lone-backslash", "bare-quote", "unterminated",
         "two-names", "latin1-extended"],
)  # fmt: skip
def test_ambiguous_or_undecodable_names_are_refused_never_altered(disposition, message):
    with pytest.raises(InvalidRequest, match=message):
        read_all(form(body(part("file", b"1", disposition=disposition))))


def test_a_name_cut_by_a_line_break_is_refused():
    raw = body(part("file", b"1", disposition=b'form-data; name="file"; filename="a\r\nb.mp4"'))
    with pytest.raises(InvalidRequest, match="Malformed"):
        read_all(form(raw))


def test_rfc5987_names_are_decoded_and_win_over_the_plain_one():
    disposition = b'form-data; name="file"; filename="x.mp4"; filename*=UTF-8\'\'caf%C3%A9.mp4'
    [(_, name, _)] = read_all(form(body(part("file", b"1", disposition=disposition))))
    assert name == "café.mp4"


def test_a_body_that_is_not_multipart_yields_nothing():
    parsed = MultipartForm(io.BytesIO(b"hello"), "text/plain", files={"file": 1})
    assert not parsed.is_multipart and list(parsed.file_parts()) == []


@pytest.mark.parametrize(
    "content_type, boundary",
    [
        ('multipart/form-data; boundary="a b"', b"a b"),
        ("Multipart/Form-Data;boundary=xyz", b"xyz"),
        ("multipart/mixed; boundary=xyz", None),
        ("multipart/form-data", None),
    ],
)
def test_boundary_of(content_type, boundary):
    assert boundary_of(content_type) == boundary


def test_oversized_part_headers_are_refused():
    huge = b'form-data; name="file"; filename="' + b"a" * 20_000 + b'"'
    with pytest.raises(InvalidRequest, match="too large"):
        read_all(form(body(part("file", b"1", disposition=huge)), read=4096))


def test_files_of_two_fields_that_each_take_one_are_both_admitted():
    raw = body(part("file", b"first", b"a.mp4"), part("video", b"second", b"b.mp4"))

    parsed = form(raw, files={"file": 1, "video": 1})

    assert read_all(parsed) == [("file", "a.mp4", b"first"), ("video", "b.mp4", b"second")]
