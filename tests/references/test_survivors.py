"""Tests that kill the realistic survivors of the tokenizers' mutation run.

Each test names the mutants it kills (see docs/testing.md): a bug that today's suite
would have let through, in code that decides what a reference is and where it ends.
"""

from __future__ import annotations

import pytest

from corral.errors import DecodeError
from corral.references import css_references, decode_text, js_references, rewrite
from corral.references.css import css_unescape
from corral.references.js import js_unescape

Found = tuple[str, str, str, int, int]  # kind, url, quote, construct start and end


def found(refs: list) -> list[Found]:  # type: ignore[type-arg]
    return [(r.kind, r.url, r.quote, r.construct_start, r.construct_end) for r in refs]


# -- CSS: the end of url("x" modifiers...) (css._close_paren) -------------------


@pytest.mark.parametrize(
    ("text", "first"),
    [
        # nested parentheses in a modifier (depth counting)
        ('a{b:url("a.png" m(n(o)) p);c:url(b.png)}', 'url("a.png" m(n(o)) p)'),
        # a string, an escaped parenthesis and a comment holding ")"
        ('a{b:url("a.png" m(")") \\) /* ) */ );c:url(b.png)}', 'url("a.png" m(")") \\) /* ) */ )'),
    ],
)
def test_a_url_construct_ends_at_its_own_parenthesis(text: str, first: str) -> None:
    refs = css_references(text)
    assert [r.url for r in refs] == ["a.png", "b.png"]
    assert text[refs[0].construct_start : refs[0].construct_end] == first
    # With modifiers Django's format does not apply: only the URL changes, the rest stays.
    out = rewrite(text, {refs[0]: "A.png", refs[1]: "B.png"})
    assert out == text.replace('"a.png"', '"A.png"').replace("url(b.png)", 'url("B.png")')


# -- CSS: comments and @import strings (css._Scanner._comment, _import) ---------


def test_an_empty_comment_ends_where_it_ends() -> None:
    assert found(css_references("/**/a{b:url(x.png)}/**/")) == [("url", "x.png", "", 8, 18)]


def test_scanning_goes_on_after_the_comment_not_inside_it() -> None:
    # Resuming two characters early would open a string at the comment's quote.
    assert found(css_references("/* x '*/ a{b:url(a.png)}")) == [("url", "a.png", "", 13, 23)]


def test_import_strings_closed_and_not() -> None:
    assert found(css_references('@import "a.css";')) == [("import", "a.css", '"', 0, 15)]
    assert found(css_references("@import'';")) == [("import", "", "'", 0, 9)]
    assert css_references('@import "a.css') == []  # unterminated at the end: no reference


# -- CSS escapes (css._unescape_one) --------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("\\0", "\ufffd"),
        ("\\D7FF", "\ud7ff"),
        ("\\D800", "\ufffd"),
        ("\\DFFF", "\ufffd"),
        ("\\E000", "\ue000"),
        ("\\10FFFF", "\U0010ffff"),
        ("\\110000", "\ufffd"),
        ("\\\n", ""),  # a line continuation
        ("x\\", "x"),  # a backslash at the very end stands for nothing
    ],
)
def test_css_escape_boundaries(raw: str, value: str) -> None:
    assert css_unescape(raw) == value


# -- JS: clauses and templates (js._brace_group_end, _plain_template_end) -------


def test_minified_and_trailing_comma_import_clauses() -> None:
    assert found(js_references('import{a}from"./a.js"')) == [("module", "./a.js", '"', 0, 21)]
    assert found(js_references('import {a,} from "./a.js"')) == [("module", "./a.js", '"', 0, 25)]
    assert js_references("import {a,") == []  # at the end of the text: no crash


def test_an_escaped_backquote_right_before_the_closing_one() -> None:
    assert found(js_references("import(`./a\\``)")) == [("dynamic-import", "./a`", "`", 0, 15)]


@pytest.mark.parametrize(
    ("raw", "value"), [("\\u{10FFFF}", "\U0010ffff"), ("\\u{110000}", "\ufffd")]
)
def test_js_escape_boundaries(raw: str, value: str) -> None:
    assert js_unescape(raw) == value


# -- JS: regex or division (js._follows_keyword, _closes_keyword_paren) ---------
# Each regex holds a quote and the import follows on the same line, so taking the regex
# for a division (or the other way round) loses the import.


@pytest.mark.parametrize(
    "text",
    [
        "function f(){return /'/}; import('./z.js')",  # after a keyword
        "if (ab) /'/.test(b); import('./z.js')",  # "(" an odd distance back
        "if ((a)) /'/.test(b); import('./z.js')",  # nested parentheses
        "while (X) /'/.test(b); import('./z.js')",  # any character in the condition
    ],
)
def test_a_regex_with_a_quote_before_an_import(text: str) -> None:
    assert [r.url for r in js_references(text)] == ["./z.js"]


@pytest.mark.parametrize(
    "text",
    [
        'xreturn/2,p="/";import("./x.js")',  # a name ending in a keyword divides
        'x = a)/2,p="/";import("./x.js")',  # a ")" no "(" opens
        'f("a")/2,p="/";import("./x.js")',  # a call with a string argument
    ],
)
def test_a_division_before_a_slash_in_a_string(text: str) -> None:
    assert [r.url for r in js_references(text)] == ["./x.js"]


# -- rewriting and decoding (rewrite._comment_url, text._decode_error) ----------


def test_a_line_comment_keeps_a_star_slash_in_its_new_url() -> None:
    text = "//# sourceMappingURL=a.map"
    [ref] = js_references(text)
    assert rewrite(text, {ref: "x*/y.map"}) == "//# sourceMappingURL=x*/y.map"
    block = "/*# sourceMappingURL=a.map */"
    [ref] = js_references(block)
    assert rewrite(block, {ref: "x*/y.map"}) == "/*# sourceMappingURL=x*%2Fy.map */"


def test_a_decode_error_names_the_line_of_the_bad_byte() -> None:
    with pytest.raises(DecodeError) as caught:
        decode_text(b"ok\n\xff\nmore\nlines\n", "a.css")
    assert (caught.value.line, caught.value.column) == (2, 1)
    assert caught.value.hint is not None and caught.value.hint.startswith("re-save the file")


@pytest.mark.parametrize("bom", [b"\xff\xfe", b"\xfe\xff"])
def test_a_decode_error_recognises_both_utf16_marks(bom: bytes) -> None:
    with pytest.raises(DecodeError) as caught:
        decode_text(bom + "a".encode("utf-16-le"), "a.css")
    assert caught.value.hint is not None
    assert caught.value.hint.startswith("it looks like UTF-16 (it starts with a UTF-16 byte")
    assert caught.value.hint.endswith("(`ignore` in [tool.corral], or --ignore)")


# -- second batch: survivors of the run's later mutants --------------------------


@pytest.mark.parametrize(
    ("text", "urls"),
    [
        ("/'/.test(x); import('./z.js')", ["./z.js"]),  # a regex at the very start
        ('1./2,p="/";import("./x.js")', ["./x.js"]),  # "1." is a number: it divides
        ("x = a - /'/.test(s); import('./z.js')", ["./z.js"]),  # a regex after binary -
        ("x = a + /'/.source; import('./z.js')", ["./z.js"]),  # and after binary +
        ('/**/import("./a.js")', ["./a.js"]),  # an empty block comment
        ('//\nimport("./a.js")', ["./a.js"]),  # an empty line comment
        ("/* a */ import('./a.js') /* b */", ["./a.js"]),  # a comment ends at its own */
        ("x\n/*# sourceMappingURL=a.map*/", ["a.map"]),  # no blank before */
        ("`\\``;import('./a.js')", ["./a.js"]),  # an escaped backquote in a template
        ('import "./a.js', []),  # an unterminated specifier at the end: no crash
        ('import("./a.js', []),
        ('import "";import("./b.js")', ["", "./b.js"]),  # an empty specifier
    ],
)
def test_js_edge_cases_the_mutants_got_wrong(text: str, urls: list[str]) -> None:
    assert [r.url for r in js_references(text)] == urls


def test_django_format_for_an_import_without_a_blank_before_the_string() -> None:
    text = 'import a from"./a.js";'
    [ref] = js_references(text)
    assert rewrite(text, {ref: "./b.js"}) == 'import a from "./b.js";'
