from __future__ import annotations

import pytest

from corral.references import sourcemap_references


def test_finds_the_file_field_with_its_position() -> None:
    text = (
        '{\n  "version": 3,\n  "file": "app.min.js",\n  "sources": ["a.js"],\n  "mappings": ""\n}'
    )
    (ref,) = sourcemap_references(text)
    assert (ref.kind, ref.url, ref.quote) == ("sourcemap-file", "app.min.js", '"')
    assert text[ref.start : ref.end] == "app.min.js"
    assert text[ref.construct_start : ref.construct_end] == '"app.min.js"'
    assert (ref.line, ref.column) == (3, 12)


def test_json_escapes_are_resolved_but_the_span_is_the_raw_text() -> None:
    text = '{"file":"dir\\/a\\u002eb.js"}'
    (ref,) = sourcemap_references(text)
    assert ref.url == "dir/a.b.js"
    assert text[ref.start : ref.end] == "dir\\/a\\u002eb.js"


@pytest.mark.parametrize(
    "text",
    [
        '{"version":3,"sources":["file.js"],"names":["file"],"mappings":"AAAA"}',  # no file
        '{"version":3,"sections":[{"offset":{},"map":{"file":"inner.js"}}]}',  # nested only
        '{"file":null}',
        '{"file":3}',
        '["file","a.js"]',
        "",
        "{",
        '{"file":"a.js",}',
        '{"file":"a.js"} trailing',
        '{"file":"a.js" "x":1}',
        '{"file":"a\nb.js"}',  # a raw newline is not allowed in a JSON string
        "not json at all",
    ],
)
def test_no_reference_without_a_string_file_or_in_invalid_json(text: str) -> None:
    assert sourcemap_references(text) == []


def test_last_file_wins_like_json_loads() -> None:
    text = '{"file":"a.js","x":{"file":"nested.js"},"file":"b.js"}'
    assert [r.url for r in sourcemap_references(text)] == ["b.js"]
    text = '{"file":"a.js","file":null}'
    assert sourcemap_references(text) == []


def test_xssi_prefix_and_bom_are_skipped() -> None:
    text = ')]}\'\n{"file":"a.js"}'
    (ref,) = sourcemap_references(text)
    assert (ref.url, ref.line, ref.column) == ("a.js", 2, 10)
    (ref,) = sourcemap_references('\ufeff{"file": "b.js"}')
    assert ref.url == "b.js"


def test_whitespace_everywhere() -> None:
    text = ' \r\n{ "file" :\t"a.js" , "version" : 3 }\r\n '
    (ref,) = sourcemap_references(text)
    assert (ref.url, ref.line) == ("a.js", 2)
