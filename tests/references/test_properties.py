"""Hypothesis properties of the tokenizers and of rewrite()."""

from __future__ import annotations

import re
from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st

from corral.references import (
    Reference,
    css_references,
    js_references,
    rewrite,
    sourcemap_references,
)
from corral.references.js import _tokenize

Tokenizer = Callable[[str], list[Reference]]

CSS_PIECES = [
    "url(",
    "URL(",
    ")",
    "(",
    '"',
    "'",
    "\\",
    "/*",
    "*/",
    "@import",
    "@import ",
    "image-set(",
    "-webkit-image-set(",
    "# sourceMappingURL=",
    "/*# sourceMappingURL=a.map */",
    "url(b.png)",
    "url('c.png' )",
    '@import "d.css";',
    "image-set('e.png' 1x)",
    "a.png",
    " ",
    "\n",
    "\r\n",
    "\r",
    "\t",
    ";",
    "{",
    "}",
    ",",
    "1x",
    "ü",
    "\\)",
    "\\61 ",
    "data:x",
]
JS_PIECES = [
    "import",
    "export",
    "import(",
    " from ",
    "from",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "*",
    " as ",
    '"',
    "'",
    "`",
    "${",
    "\\",
    "/",
    "//",
    "/*",
    "*/",
    "./a.js",
    "x",
    "return ",
    "if(",
    "=",
    " ",
    "\n",
    "\r\n",
    "\u2028",
    ";",
    ",",
    ".",
    "++",
    "# sourceMappingURL=",
    "#!",
    "1",
    "//# sourceMappingURL=a.map\n",
    "import.meta",
    "a.import(",
    'import "./b.js"',
    "import c from './c.js'",
    'export {d} from "./d.js";',
    "import('./e.js')",
    "import(`./f.js`)",
]


def soup(pieces: list[str]) -> st.SearchStrategy[str]:
    """Random texts made of the pieces that matter to a tokenizer, plus noise."""
    piece = st.one_of(st.sampled_from(pieces), st.text(max_size=3))
    return st.lists(piece, max_size=40).map("".join)


def check_invariants(text: str, refs: list[Reference]) -> None:
    last = 0
    for ref in refs:
        assert last <= ref.construct_start <= ref.start <= ref.end <= ref.construct_end <= len(text)
        last = ref.construct_end
        if ref.quote:
            assert text[ref.start - 1] == ref.quote == text[ref.end]
        head = text[: ref.start]
        lines = head.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        assert (ref.line, ref.column) == (len(lines), len(lines[-1]) + 1)


# -- (1) an identity mapping changes nothing ------------------------------------


@given(soup(CSS_PIECES))
def test_css_identity_rewrite_returns_the_exact_text(text: str) -> None:
    refs = css_references(text)
    check_invariants(text, refs)
    assert rewrite(text, {r: r.url for r in refs}) == text


@given(soup(JS_PIECES))
def test_js_identity_rewrite_returns_the_exact_text(text: str) -> None:
    refs = js_references(text)
    check_invariants(text, refs)
    assert rewrite(text, {r: r.url for r in refs}) == text


@given(st.text(alphabet='{}[]":,0123456789abcfile\\u \n', max_size=60))
def test_sourcemap_identity_rewrite_returns_the_exact_text(text: str) -> None:
    refs = sourcemap_references(text)
    check_invariants(text, refs)
    assert rewrite(text, {r: r.url for r in refs}) == text


@given(soup(JS_PIECES), st.booleans())
def test_js_shortcut_agrees_with_the_tokenizer(text: str, modules: bool) -> None:
    # js_references answers texts without "import", "export" or "sourceMappingURL"
    # (and, with modules=False, without "sourceMappingURL") without tokenizing.
    full = _tokenize(text)
    expected = full if modules else [r for r in full if r.kind == "sourcemap"]
    assert js_references(text, modules=modules) == expected
    without_markers = text.replace("import", "imp").replace("export", "exp")
    assert _tokenize(without_markers.replace("sourceMappingURL", "map")) == []
    if "sourceMappingURL" not in without_markers:
        assert _tokenize(without_markers) == []


# -- (2) nothing is found inside comments and strings ---------------------------

ascii_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60)


@given(ascii_text)
def test_css_finds_nothing_inside_comments_and_strings(noise: str) -> None:
    comment = noise.replace("*/", "* /")
    string = noise.replace("\\", "/").replace('"', "'")
    text = f'a {{ content: "{string}"; }}\n/* x{comment} */\n.b {{ c: url(real.png) }}'
    assert [r.url for r in css_references(text)] == ["real.png"]


@given(ascii_text)
def test_js_finds_nothing_inside_comments_strings_templates_and_regexes(noise: str) -> None:
    line = noise
    block = noise.replace("*/", "* /")
    dq = noise.replace("\\", "/").replace('"', "'")
    sq = noise.replace("\\", "/").replace("'", '"')
    template = noise.replace("\\", "/").replace("`", "'").replace("${", "$ {")
    regex = noise.replace("\\", "_").replace("/", "_").replace("[", "_")
    text = (
        f"// x{line}\n/* x{block} */\n"
        f"const a = \"{dq}\", b = '{sq}', c = `{template}`, d = /x{regex}/g;\n"
        f"const e = f(/x{regex}/) / 2 / `{template}`;\n"
        'import real from "./real.js";\n'
    )
    assert [r.url for r in js_references(text)] == ["./real.js"]


# -- (3) rewrite changes only the reference spans -------------------------------

new_urls = st.text(alphabet="abcXYZ019./_-", min_size=1, max_size=12)


def expected_minimal(text: str, refs: list[Reference], news: list[str]) -> str:
    out, last = [], 0
    for ref, new in zip(refs, news, strict=True):
        out += [text[last : ref.start], new]
        last = ref.end
    return "".join([*out, text[last:]])


@given(soup(CSS_PIECES), st.data())
def test_css_rewrite_changes_only_the_spans(text: str, data: st.DataObject) -> None:
    refs = css_references(text)
    news = [data.draw(new_urls) for _ in refs]
    mapping = dict(zip(refs, news, strict=True))
    assert rewrite(text, mapping, django_style=False) == expected_minimal(text, refs, news)
    check_outside_constructs(text, refs, mapping, css_references)


@given(soup(JS_PIECES), st.data())
def test_js_rewrite_changes_only_the_spans(text: str, data: st.DataObject) -> None:
    refs = js_references(text)
    news = [data.draw(new_urls) for _ in refs]
    mapping = dict(zip(refs, news, strict=True))
    assert rewrite(text, mapping, django_style=False) == expected_minimal(text, refs, news)
    check_outside_constructs(text, refs, mapping, js_references)


def check_outside_constructs(
    text: str, refs: list[Reference], mapping: dict[Reference, str], tokenize: Tokenizer
) -> None:
    """Django-style output keeps the text between constructs and has the new URLs.

    A Django-style module statement also swallows blanks before its ";".
    """
    out = rewrite(text, mapping)
    assert [r.url for r in tokenize(out)] == [mapping.get(r, r.url) for r in refs]
    pattern, last = [], 0
    for i, ref in enumerate(refs):
        pattern += [unchanged(text[last : ref.construct_start], after_construct=i > 0), "(.*?)"]
        last = ref.construct_end
    pattern.append(unchanged(text[last:], after_construct=bool(refs)))
    assert re.fullmatch("".join(pattern), out, re.S), (text, out)


def unchanged(between: str, *, after_construct: bool) -> str:
    semicolon = re.match(r"\s*;", between) if after_construct else None
    if semicolon is None:
        return re.escape(between)
    return f"(?:{re.escape(between)}|;{re.escape(between[semicolon.end() :])})"


STATEMENTS = st.sampled_from(
    [
        "import a from './{u}';",
        'import {{ b as c }} from "{u}"',
        'export * from "{u}";',
        "import '{u}';",
        "x = import('{u}');",
        "x = a / 2 / b;",
        "s = 'import(\"no.js\")';",
        "// import('no.js')",
        "r = /import('no')/g;",
        "t = `${{import('{u}')}} import('no.js')`;",
        "//# sourceMappingURL={u}",
    ]
)


@given(st.lists(st.tuples(STATEMENTS, new_urls), max_size=8), st.data())
def test_js_django_style_rewrite_keeps_everything_between_constructs(
    program: list[tuple[str, str]], data: st.DataObject
) -> None:
    text = "\n".join(template.format(u="./" + url) for template, url in program) + "\n"
    refs = js_references(text)
    mapping = {r: "./" + data.draw(new_urls) for r in refs}
    check_outside_constructs(text, refs, mapping, js_references)
