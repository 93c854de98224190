from __future__ import annotations

import re

import pytest

from corral.references import Reference, css, css_references
from corral.references.css import css_unescape

Found = tuple[str, str, str, str]  # kind, url, the URL text as written, quote


def found(text: str) -> list[Found]:
    refs = css_references(text)
    for ref in refs:
        check_shape(text, ref)
    return [(r.kind, r.url, text[r.start : r.end], r.quote) for r in refs]


def check_shape(text: str, ref: Reference) -> None:
    assert 0 <= ref.construct_start <= ref.start <= ref.end <= ref.construct_end <= len(text)
    if ref.quote:
        assert text[ref.start - 1] == ref.quote == text[ref.end]


CASES: list[tuple[str, str, list[Found]]] = [
    ("unquoted url", "a{background:url(a.png)}", [("url", "a.png", "a.png", "")]),
    ("double quotes", 'a{b:url("a b.png")}', [("url", "a b.png", "a b.png", '"')]),
    ("single quotes", "a{b:url('a.png')}", [("url", "a.png", "a.png", "'")]),
    (
        "any case",
        "a{b:URL(a.png);c:Url('b.png')}",
        [("url", "a.png", "a.png", ""), ("url", "b.png", "b.png", "'")],
    ),
    ("blanks inside", "a{b:url(  a.png\n )}", [("url", "a.png", "a.png", "")]),
    ("blanks around a string", 'a{b:url( "a.png" )}', [("url", "a.png", "a.png", '"')]),
    ("escaped paren", r"a{b:url(a\).png)}", [("url", "a).png", r"a\).png", "")]),
    (
        "escaped space and quote",
        r"a{b:url(a\ b\'c.png)}",
        [("url", "a b'c.png", r"a\ b\'c.png", "")],
    ),
    ("hex escape", r"a{b:url(\61 .png)}", [("url", "a.png", r"\61 .png", "")]),
    ("escaped quote in a string", r'a{b:url("a\"b.png")}', [("url", 'a"b.png', r"a\"b.png", '"')]),
    (
        "line continuation in a string",
        'a{b:url("a\\\nb.png")}',
        [("url", "ab.png", "a\\\nb.png", '"')],
    ),
    (
        "data url",
        "a{b:url(data:image/png;base64,iVB=)}",
        [("url", "data:image/png;base64,iVB=", "data:image/png;base64,iVB=", "")],
    ),
    (
        "fragment and query",
        "a{b:url('f.eot?#iefix');c:url(#vml)}",
        [("url", "f.eot?#iefix", "f.eot?#iefix", "'"), ("url", "#vml", "#vml", "")],
    ),
    ("empty url", "a{b:url();c:url('')}", [("url", "", "", ""), ("url", "", "", "'")]),
    (
        "modifiers after a string",
        'a{b:url("a.png" cross-origin(anonymous)) x}',
        [("url", "a.png", "a.png", '"')],
    ),
    ("unclosed at the end", "a{b:url(a.png", [("url", "a.png", "a.png", "")]),
    ("@import string", '@import "a.css";', [("import", "a.css", "a.css", '"')]),
    (
        "@import single quotes and media",
        "@import 'a.css' screen;",
        [("import", "a.css", "a.css", "'")],
    ),
    ("@import url()", "@import url(a.css);", [("import", "a.css", "a.css", "")]),
    (
        "@import any case",
        '@IMPORT URL("a.css");@Import"b.css";',
        [("import", "a.css", "a.css", '"'), ("import", "b.css", "b.css", '"')],
    ),
    ("@import with a comment", '@import /* x */ "a.css";', [("import", "a.css", "a.css", '"')]),
    (
        "image-set strings",
        'a{b:image-set("a.png" 1x, "a-2x.png" 2x)}',
        [("image-set", "a.png", "a.png", '"'), ("image-set", "a-2x.png", "a-2x.png", '"')],
    ),
    (
        "-webkit-image-set with url()",
        "a{b:-webkit-image-set(url(a.png) 1x, 'b.png' 2x)}",
        [("url", "a.png", "a.png", ""), ("image-set", "b.png", "b.png", "'")],
    ),
    (
        "image-set type() string is not a url",
        'a{b:image-set("a.avif" type("image/avif") 1x)}',
        [("image-set", "a.avif", "a.avif", '"')],
    ),
    (
        "image-set nested in another function",
        "a{b:fn(image-set('a.png' 1x))}",
        [("image-set", "a.png", "a.png", "'")],
    ),
    (
        "sourceMappingURL",
        "a{}\n/*# sourceMappingURL=app.css.map */\n",
        [("sourcemap", "app.css.map", "app.css.map", "")],
    ),
    (
        "sourceMappingURL, tabs and no blank",
        "/*#\tsourceMappingURL=a.map*/",
        [("sourcemap", "a.map", "a.map", "")],
    ),
    ("legacy //@ form", "/*@ sourceMappingURL=a.map */", [("sourcemap", "a.map", "a.map", "")]),
    # Nothing inside comments or strings.
    ("url in a comment", "/* url(a.png) */ a{}", []),
    ("@import in a comment", '/* @import "a.css"; */', []),
    ("url in a string", "a{content:\"url(a.png)\"; b: 'url(b.png)'}", []),
    ("image-set in a string", "a{content:\"image-set('a.png' 1x)\"}", []),
    ("a sourcemap-like comment with text after", "/*# sourceMappingURL=a.map x */", []),
    ("sourceMappingURL is case-sensitive", "/*# sOuRcEMaPpInGURL=a.map */", []),
    ("unclosed comment", "/* url(a.png)", []),
    ("string ends at a newline", 'a{content:"x\nurl(b.png)', [("url", "b.png", "b.png", "")]),
    ("other functions", "a{b:myurl(a.png);c:src(b.png);d:--url(c.png)}", []),
    ("not @import", "@importx 'a.css'; @imports url(b.css)", [("url", "b.css", "b.css", "")]),
    ("escaped quote outside strings", r"a{b:\"; c:url(a.png)}", [("url", "a.png", "a.png", "")]),
    # Malformed url( tokens are not references, and do not hide what follows.
    ("bad url: inner blank", "a{b:url(a b.png);c:url(c.png)}", [("url", "c.png", "c.png", "")]),
    ("bad url: quote", "a{b:url(a'b.png);c:url(c.png)}", [("url", "c.png", "c.png", "")]),
    ("bad url: escaped newline", "a{b:url(a\\\nb);c:url(c.png)}", [("url", "c.png", "c.png", "")]),
    ("bad string in url", 'a{b:url("a\n.png);c:url(c.png)}', [("url", "c.png", "c.png", "")]),
    ("non-ASCII", "a{b:url(ünï.png)}", [("url", "ünï.png", "ünï.png", "")]),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_css_references(text: str, expected: list[Found]) -> None:
    assert found(text) == expected


def test_constructs_cover_the_whole_url_function_and_import_rule() -> None:
    text = 'a{b:url( "x.png" )}\n@import "y.css" screen;\n@import url(z.css);'
    spans = [text[r.construct_start : r.construct_end] for r in css_references(text)]
    assert spans == ['url( "x.png" )', '@import "y.css"', "url(z.css)"]


def test_sourcemap_construct_is_the_comment() -> None:
    text = "a{}\n/*# sourceMappingURL=a.map */"
    (ref,) = css_references(text)
    assert text[ref.construct_start : ref.construct_end] == "/*# sourceMappingURL=a.map */"


def test_line_and_column_with_crlf_and_bom() -> None:
    text = "\ufeffa {}\r\n\r\n.b {\r\n  background: url(x.png);\r\n}\r\n@import 'y.css';"
    refs = css_references(text)
    assert [(r.url, r.line, r.column) for r in refs] == [("x.png", 4, 19), ("y.css", 6, 10)]


def test_line_and_column_with_lone_cr() -> None:
    text = "a{}\r\rb{c:url('q.png')}"
    (ref,) = css_references(text)
    assert (ref.line, ref.column) == (3, 10)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("plain", "plain"),
        (r"a\)b", "a)b"),
        (r"\26 b", "&b"),
        (r"\26b", "\u026b"),  # "26b" is one hex escape
        ("\\26\r\nb", "&b"),
        (r"\0", "\ufffd"),
        (r"\110000", "\ufffd"),
        ("a\\\nb", "ab"),
        ("a\\", "a"),
    ],
)
def test_css_unescape(raw: str, value: str) -> None:
    assert css_unescape(raw) == value


def test_the_name_character_classes_are_word_characters_hyphen_and_non_ascii() -> None:
    name = re.compile(rf"[{css._NAME_CHAR}]")
    name_or_escape = re.compile(rf"[{css._NAME_CHAR_OR_ESCAPE}]")
    for code in range(0x110000):
        char = chr(code)
        expected = char.isascii() is False or char == "-" or re.match(r"\w", char) is not None
        assert bool(name.match(char)) is expected, hex(code)
        assert bool(name_or_escape.match(char)) is (expected or char == "\\"), hex(code)
