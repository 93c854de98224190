from __future__ import annotations

import pytest

from corral.errors import DecodeError, SourceError
from corral.references import decode_text, encode_text, has_bom
from corral.references.text import LineIndex


def test_decodes_utf8_and_drops_the_bom_which_encode_can_put_back() -> None:
    data = b"\xef\xbb\xbfa { content: '\xc3\xa9' }"
    text = decode_text(data, "a.css")
    assert text == "a { content: 'é' }"
    assert has_bom(data)
    assert encode_text(text, bom=has_bom(data)) == data
    assert not has_bom(b"a{}")
    assert encode_text("a{}") == b"a{}"


def test_only_a_leading_bom_is_dropped() -> None:
    assert decode_text(b"a\xef\xbb\xbfb", "x.js") == "a\ufeffb"


@pytest.mark.parametrize(
    ("data", "line", "column"),
    [
        (b"\xff", 1, 1),
        (b"abc\xff", 1, 4),
        (b"a\nb\nc\xe9d", 3, 2),  # Latin-1 e-acute
        (b"a\r\nb\r\nxy\x80", 3, 3),  # CRLF counts once
        (b"a\rb\rxy\x80", 3, 3),  # old Mac line ends
        (b"a\r\n\r\n\xc3", 3, 1),  # truncated sequence at the end
        (b"\xc3\xa9\xe2\x82\xac\xff", 1, 3),  # columns count characters, not bytes
        (b"\xef\xbb\xbfab\xfe", 1, 3),  # the BOM is not a column
        (b"x\n\xed\xa0\x80", 2, 1),  # an encoded surrogate is not UTF-8
    ],
)
def test_a_non_utf8_byte_raises_decode_error_with_its_line_and_column(
    data: bytes, line: int, column: int
) -> None:
    with pytest.raises(DecodeError) as info:
        decode_text(data, "static/css/app.css")
    err = info.value
    assert isinstance(err, SourceError)
    assert (err.path, err.line, err.column) == ("static/css/app.css", line, column)
    assert f"static/css/app.css:{line}:{column}" in err.message
    assert "not valid UTF-8" in err.message
    assert err.hint is not None
    assert "UTF-8" in err.hint
    assert "ignore" in err.hint


def test_decode_error_names_the_bad_byte_and_its_offset() -> None:
    with pytest.raises(DecodeError) as info:
        decode_text(b"ab\n\x92", "x.js")
    assert "byte 0x92 at byte offset 3" in info.value.message


def test_decode_error_hint_recognises_utf16() -> None:
    data = "a{}".encode("utf-16")
    with pytest.raises(DecodeError) as info:
        decode_text(data, "x.css")
    assert info.value.hint is not None
    assert "UTF-16" in info.value.hint


@pytest.mark.parametrize(
    ("text", "offset", "expected"),
    [
        ("abc", 0, (1, 1)),
        ("abc", 2, (1, 3)),
        ("a\nbc", 3, (2, 2)),
        ("a\r\nbc", 4, (2, 2)),
        ("a\rbc", 3, (2, 2)),
        ("a\r\n\r\nbc", 6, (3, 2)),
        ("a\n\r\nb", 4, (3, 1)),
        ("a\n", 2, (2, 1)),
    ],
)
def test_line_index_positions(text: str, offset: int, expected: tuple[int, int]) -> None:
    assert LineIndex(text).position(offset) == expected


def test_line_index_answers_in_any_order() -> None:
    text = "a\r\nbb\rccc\nd"
    index = LineIndex(text)
    naive = {}
    line, col = 1, 1
    for i, ch in enumerate(text):
        naive[i] = (line, col)
        if ch == "\n" or (ch == "\r" and text[i + 1 : i + 2] != "\n"):
            line, col = line + 1, 1
        elif ch != "\r":
            col += 1
    for offset in [9, 0, 4, 3, 10, 7, 1]:
        if text[offset - 1 : offset + 1] == "\r\n":
            continue  # between the two halves of a CRLF
        assert index.position(offset) == naive[offset], offset


def test_line_index_between_the_halves_of_a_crlf_after_a_lone_cr() -> None:
    # Found by fuzzing: the line starts after the lone "\r", not at the CRLF's "\r".
    assert LineIndex("aaa\r\r\n").position(5) == (2, 2)
    assert LineIndex("aaa\r\r\nb").position(6) == (3, 1)


def test_line_index_looks_back() -> None:
    index = LineIndex("a\nbc\r\nd\re")
    assert [index.position(o) for o in (9, 3, 0, 7, 5)] == [(4, 2), (2, 2), (1, 1), (3, 2), (2, 4)]
