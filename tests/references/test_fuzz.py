"""Fuzzing the tokenizers with Hypothesis: no input crashes them, every position they
report is right, and rewriting is idempotent.

``test_properties.py`` holds the properties over texts made of the pieces that matter to
each tokenizer; this file adds arbitrary text, out-of-order position look-ups, rewriting
twice against once, and source maps generated as JSON.
"""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from corral.references import (
    css_references,
    find_references,
    js_references,
    rewrite,
    sourcemap_references,
)
from corral.references.text import LineIndex

from .test_properties import CSS_PIECES, JS_PIECES, Tokenizer, check_invariants, soup

# Arbitrary text, with the characters that end lines and the ones tokenizers care about
# made likely enough to meet each other.
noisy = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from("\n\r\u2028\\/'\"`*()[]{}$#@;:,.\t "),
    ),
    max_size=200,
)
mixed = st.one_of(noisy, soup(CSS_PIECES), soup(JS_PIECES))


@given(mixed)
def test_no_text_crashes_a_tokenizer_and_every_position_is_right(text: str) -> None:
    for tokenize in (css_references, js_references, sourcemap_references):
        refs = tokenize(text)
        check_invariants(text, refs)
        assert rewrite(text, {r: r.url for r in refs}) == text
    assert [r for r in js_references(text) if r.kind == "sourcemap"] == js_references(
        text, modules=False
    )
    for name in ("a.css", "b.JS", "c.mjs", "d.cjs", "e.js.map", "f.txt"):
        found = find_references(name, text)
        assert found is None if name == "f.txt" else found is not None


def naive_position(text: str, offset: int) -> tuple[int, int]:
    head = text[:offset]
    if head.endswith("\r") and text[offset : offset + 1] == "\n":
        head = head[:-1] + "x"  # between the two halves of a CRLF: the line goes on
    lines = head.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return len(lines), len(lines[-1]) + 1


@given(st.text(alphabet="ab\r\n", max_size=60), st.data())
def test_line_index_answers_offsets_in_any_order(text: str, data: st.DataObject) -> None:
    offsets = data.draw(st.lists(st.integers(0, len(text)), max_size=20))
    index = LineIndex(text)
    for offset in offsets:
        assert index.position(offset) == naive_position(text, offset), offset


new_urls = st.text(alphabet="abcXYZ019_-", min_size=1, max_size=10).map(lambda s: "./" + s)


@given(soup(CSS_PIECES), st.booleans(), st.data())
def test_css_rewriting_twice_is_rewriting_once(
    text: str, django_style: bool, data: st.DataObject
) -> None:
    check_twice_is_once(text, css_references, django_style, data)


@given(soup(JS_PIECES), st.booleans(), st.data())
def test_js_rewriting_twice_is_rewriting_once(
    text: str, django_style: bool, data: st.DataObject
) -> None:
    check_twice_is_once(text, js_references, django_style, data)


def check_twice_is_once(
    text: str, tokenize: Tokenizer, django_style: bool, data: st.DataObject
) -> None:
    """A to B then B to C gives what A to C gives; B to B changes nothing."""
    refs = tokenize(text)
    first = [data.draw(new_urls) for _ in refs]
    second = [data.draw(new_urls) for _ in refs]
    once = rewrite(text, dict(zip(refs, first, strict=True)), django_style=django_style)
    again = tokenize(once)
    assert [r.url for r in again] == first
    assert rewrite(once, {r: r.url for r in again}, django_style=django_style) == once
    twice = rewrite(once, dict(zip(again, second, strict=True)), django_style=django_style)
    direct = rewrite(text, dict(zip(refs, second, strict=True)), django_style=django_style)
    assert twice == direct


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=8,
)
blank = st.text(alphabet=" \t\r\n", max_size=2)


# Keys as written in the JSON text: the last one is "file" spelled with an escape.
KEYS = ['"file"', '"sources"', '"x"', '"fi\\u006ce"']


@given(st.lists(st.tuples(st.sampled_from(KEYS), json_values), max_size=5), blank, st.booleans())
def test_sourcemap_file_is_what_json_reads(
    fields: list[tuple[str, object]], space: str, xssi: bool
) -> None:
    body = ",".join(
        f"{space}{key}{space}:{space}{json.dumps(value, ensure_ascii=False)}"
        for key, value in fields
    )
    text = (")]}'\n" if xssi else "") + "{" + body + space + "}"
    parsed = json.loads(text.removeprefix(")]}'\n"))
    refs = sourcemap_references(text)
    check_invariants(text, refs)
    if isinstance(parsed.get("file"), str):
        [ref] = refs
        assert ref.url == parsed["file"]
        assert json.loads(f'"{text[ref.start : ref.end]}"') == parsed["file"]
    else:
        assert refs == []


def test_a_source_map_nested_too_deep_for_json_has_no_reference() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    assert sourcemap_references('{"x":' + deep + ',"file":"a.js"}') == []
