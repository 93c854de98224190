"""Rewriting, pinned against Django 5.2's own output for the same inputs.

Each expected string below is what Django 5.2's ``HashedFilesMixin`` produced
(``support_js_module_import_aggregation = True``) for the input, with every
file's hash stubbed to ``abcdef012345``; ``django_like`` maps a URL the way
Django's ``url_converter`` does under that stub.
"""

from __future__ import annotations

import re

import pytest

from corral.references import (
    Reference,
    css_references,
    find_references,
    js_references,
    rewrite,
    sourcemap_references,
)

HASH = "abcdef012345"


def django_like(url: str) -> str | None:
    """The URL Django's converter writes for ``url``, or None where it skips it."""
    if re.match(r"^[a-z]+:", url) or url.startswith("//"):
        return None
    if url.startswith("/") and not url.startswith("/static/"):
        return None
    head, tail = re.match(r"([^?#]*)(.*)", url, re.S).groups()  # type: ignore[union-attr]
    if not head:
        return None
    directory, _, name = head.rpartition("/")
    root, dot, ext = name.rpartition(".")
    hashed = f"{root}.{HASH}.{ext}" if dot else f"{name}.{HASH}"
    return (f"{directory}/" if directory else "") + hashed + tail


def hashed_mapping(refs: list[Reference]) -> dict[Reference, str]:
    mapping = {}
    for ref in refs:
        if ref.kind in ("module", "dynamic-import") and not ref.url.startswith((".", "/")):
            continue  # bare specifiers are not files
        new = django_like(ref.url)
        if new is not None:
            mapping[ref] = new
    return mapping


def hashed(path: str, text: str, *, django_style: bool = True) -> str:
    refs = find_references(path, text)
    assert refs is not None
    return rewrite(text, hashed_mapping(refs), django_style=django_style)


DJANGO_CSS = [
    ('@import "a.css";', '@import url("a.abcdef012345.css");'),
    ("@import 'a.css';", '@import url("a.abcdef012345.css");'),
    ('@import"a.css";', '@import url("a.abcdef012345.css");'),
    ('@IMPORT   "a.css" screen;', '@import url("a.abcdef012345.css") screen;'),
    ("@import url(a.css);", '@import url("a.abcdef012345.css");'),
    ("@import url('a.css') print;", '@import url("a.abcdef012345.css") print;'),
    ('@import URL("a.css");', '@import url("a.abcdef012345.css");'),
    ('@IMporT uRL("a.css");', '@IMporT url("a.abcdef012345.css");'),
    ("a { background: url(img/x.png) }", 'a { background: url("img/x.abcdef012345.png") }'),
    ("a { background: url('img/x.png') }", 'a { background: url("img/x.abcdef012345.png") }'),
    ('a { background: url("img/x.png") }', 'a { background: url("img/x.abcdef012345.png") }'),
    ("a { background: url( img/x.png ) }", 'a { background: url("img/x.abcdef012345.png") }'),
    ("a { background: URL(img/x.png) }", 'a { background: url("img/x.abcdef012345.png") }'),
    (
        "a{background:url(img/x.png)no-repeat,url('../y.gif')}",
        'a{background:url("img/x.abcdef012345.png")no-repeat,url("../y.abcdef012345.gif")}',
    ),
    (
        "src: url('fonts/font.eot?#iefix') format('embedded-opentype'),"
        " url('fonts/font.svg#webfontIyfZbseF') format('svg');",
        "src: url(\"fonts/font.abcdef012345.eot?#iefix\") format('embedded-opentype'),"
        " url(\"fonts/font.abcdef012345.svg#webfontIyfZbseF\") format('svg');",
    ),
    (
        'a { background: url("#default#VML"); b: url(data:image/png;base64,AAAA); '
        "c: url(//cdn/x.png); d: url(http://x/y.png); e: url(/other/x.png) }",
        'a { background: url("#default#VML"); b: url(data:image/png;base64,AAAA); '
        "c: url(//cdn/x.png); d: url(http://x/y.png); e: url(/other/x.png) }",
    ),
    (
        "a { background: url(/static/img/x.png) }",
        'a { background: url("/static/img/x.abcdef012345.png") }',
    ),
    (
        "* {outline: 1px solid red;}\n/*# sourceMappingURL=source_map.css.map*/\n",
        "* {outline: 1px solid red;}\n/*# sourceMappingURL=source_map.css.abcdef012345.map */\n",
    ),
    (
        "* {outline: 1px solid red;}\n/*#\tsourceMappingURL=source_map.css.map\t*/\n",
        "* {outline: 1px solid red;}\n/*# sourceMappingURL=source_map.css.abcdef012345.map */\n",
    ),
    (
        "* {outline: 1px solid red;}\n/*# sourceMappingURL=source_map.css.map */\n",
        "* {outline: 1px solid red;}\n/*# sourceMappingURL=source_map.css.abcdef012345.map */\n",
    ),
    (
        "a{}\r\n@import 'b.css';\r\nb{background:url(c.png)}\r\n",
        'a{}\r\n@import url("b.abcdef012345.css");\r\nb{background:url("c.abcdef012345.png")}\r\n',
    ),
]

DJANGO_JS = [
    ('import a from "./a.js";', 'import a from "./a.abcdef012345.js";'),
    ("import a from './a.js';", 'import a from "./a.abcdef012345.js";'),
    ("import {b as c, d} from './a.js' ;", 'import {b as c, d} from "./a.abcdef012345.js";'),
    ('import*as m from "./a.js";', 'import*as m from "./a.abcdef012345.js";'),
    ('import*  as  m from "./a.js";', 'import*  as  m from "./a.abcdef012345.js";'),
    (
        'import {\n    x as y,\n    $z_2 as w\n} from "./a.js";',
        'import {\n    x as y,\n    $z_2 as w\n} from "./a.abcdef012345.js";',
    ),
    ('import "./side.js";', 'import"./side.abcdef012345.js";'),
    ("import   './side.js' ;", 'import"./side.abcdef012345.js";'),
    ('import a, {b} from "../up/a.js";', 'import a, {b} from "../up/a.abcdef012345.js";'),
    ('export * from "./a.js";', 'export * from "./a.abcdef012345.js";'),
    ("export { a } from './a.js';", 'export { a } from "./a.abcdef012345.js";'),
    (
        'export {\n    a as b\n} from "./a.js";',
        'export {\n    a as b\n} from "./a.abcdef012345.js";',
    ),
    ('const m = import("./lazy.js");', 'const m = import("./lazy.abcdef012345.js");'),
    ("const m = import('./lazy.js');", 'const m = import("./lazy.abcdef012345.js");'),
    (
        'import rootConst from "/static/absolute_root.js";',
        'import rootConst from "/static/absolute_root.abcdef012345.js";',
    ),
    (
        "//# sourceMappingURL=app.js.map\nlet a = 1;",
        "//# sourceMappingURL=app.js.abcdef012345.map\nlet a = 1;",
    ),
    (
        "let a = 1;\n//# sourceMappingURL=app.js.map\t \n",
        "let a = 1;\n//# sourceMappingURL=app.js.abcdef012345.map\n",
    ),
    (
        "let a = 1;\n//# sourceMappingURL=app.js.map",
        "let a = 1;\n//# sourceMappingURL=app.js.abcdef012345.map",
    ),
    (
        "//# sourceMappingURL=data:application/json;base64,eyJ2ZXJzaW9uIjozfQ==\n",
        "//# sourceMappingURL=data:application/json;base64,eyJ2ZXJzaW9uIjozfQ==\n",
    ),
]


@pytest.mark.parametrize(("text", "expected"), DJANGO_CSS)
def test_css_output_equals_djangos(text: str, expected: str) -> None:
    assert hashed("x/t.css", text) == expected


@pytest.mark.parametrize(("text", "expected"), DJANGO_JS)
def test_js_output_equals_djangos(text: str, expected: str) -> None:
    assert hashed("x/t.js", text) == expected


@pytest.mark.parametrize(
    ("path", "text", "expected"),
    [
        # url() in a comment: Django rewrites it (ticket #21080); we leave it.
        (
            "t.css",
            "/* url(old.png) */ a{b:url(new.png)}",
            '/* url(old.png) */ a{b:url("new.abcdef012345.png")}',
        ),
        # A url() inside a string is text.
        ("t.css", 'a{content:"url(x.png)"}', 'a{content:"url(x.png)"}'),
        # TinyMCE: an import() in a comment.
        (
            "t.js",
            '// @typedef {import("./prism-core")["T"]} T',
            '// @typedef {import("./prism-core")["T"]} T',
        ),
        # No semicolon: Django's patterns do not match; only the specifier changes.
        ("t.js", "import a from './a.js'\n", "import a from './a.abcdef012345.js'\n"),
        # Blanks inside import(): Django does not match; the quote is kept.
        ("t.js", "import( './a.js' )", "import( './a.abcdef012345.js' )"),
        # A comment before the specifier: only the specifier changes.
        ("t.js", "import a from /* c */ './a.js';", "import a from /* c */ './a.abcdef012345.js';"),
        # CRLF: Django swallows the \r of a sourceMappingURL line; we keep it.
        (
            "t.js",
            "x()\r\n//# sourceMappingURL=x.js.map\r\n",
            "x()\r\n//# sourceMappingURL=x.js.abcdef012345.map\r\n",
        ),
        # image-set() strings: Django ignores them; we keep their quotes.
        (
            "t.css",
            "a{b:image-set('a.png' 1x, \"b.png\" 2x)}",
            "a{b:image-set('a.abcdef012345.png' 1x, \"b.abcdef012345.png\" 2x)}",
        ),
        # A source map's file field.
        ("t.js.map", '{"version":3,"file":"t.js"}', '{"version":3,"file":"t.abcdef012345.js"}'),
    ],
)
def test_where_we_deliberately_differ_from_django(path: str, text: str, expected: str) -> None:
    assert hashed(path, text) == expected


def test_identity_mapping_returns_the_text_unchanged() -> None:
    text = "@import 'a.css';\na{b:url( x.png )}\n/*#\tsourceMappingURL=a.map*/"
    refs = css_references(text)
    assert rewrite(text, {r: r.url for r in refs}) == text
    assert rewrite(text, {}) == text


def test_minimal_style_replaces_only_the_url_text() -> None:
    text = "@import 'a.css';\na{b:url( x.png )}\n/*#\tsourceMappingURL=a.map*/"
    assert hashed("t.css", text, django_style=False) == (
        "@import 'a.abcdef012345.css';\na{b:url( x.abcdef012345.png )}\n"
        "/*#\tsourceMappingURL=a.abcdef012345.map*/"
    )
    text = "import a from './a.js' ;import('./b.js')"
    assert hashed("t.js", text, django_style=False) == (
        "import a from './a.abcdef012345.js' ;import('./b.abcdef012345.js')"
    )


TRICKY_URLS = ['a"b.png', "a'b.png", "a)b(.png", "a b.png", "a\\b.png", "a\nb.png", "ü.png"]


@pytest.mark.parametrize("new", TRICKY_URLS)
@pytest.mark.parametrize(
    "text",
    [
        "a{b:url(x.png)}",
        "a{b:url('x.png')}",
        'a{b:url("x.png")}',
        "@import 'x.png';",
        "a{b:image-set('x.png' 1x)}",
    ],
)
@pytest.mark.parametrize("django_style", [True, False])
def test_css_new_urls_are_escaped_for_their_context(
    new: str, text: str, django_style: bool
) -> None:
    (ref,) = css_references(text)
    out = rewrite(text, {ref: new}, django_style=django_style)
    (again,) = css_references(out)
    assert again.url == new


@pytest.mark.parametrize("new", [*TRICKY_URLS, "a`b.js", "${x}.js", "a\u2028b.js"])
@pytest.mark.parametrize(
    "text",
    [
        "import a from './x.js';",
        'import "./x.js"',
        "import('./x.js')",
        "import(`./x.js`)",
        'export * from "./x.js"',
    ],
)
@pytest.mark.parametrize("django_style", [True, False])
def test_js_new_urls_are_escaped_for_their_context(new: str, text: str, django_style: bool) -> None:
    (ref,) = js_references(text)
    out = rewrite(text, {ref: "./" + new}, django_style=django_style)
    (again,) = js_references(out)
    assert again.url == "./" + new


def test_source_map_urls_stay_inside_their_comment() -> None:
    text = "a{}\n/*# sourceMappingURL=a.map */"
    (ref,) = css_references(text)
    out = rewrite(text, {ref: "a b*/c.map"})
    assert out == "a{}\n/*# sourceMappingURL=a%20b*%2Fc.map */"
    text = '{"file":"a.js"}'
    (ref,) = sourcemap_references(text)
    assert rewrite(text, {ref: 'a"\\.js'}) == '{"file":"a\\"\\\\.js"}'


def test_unlisted_references_are_untouched() -> None:
    text = "a{b:url(x.png);c:url(y.png)}"
    first, _ = css_references(text)
    assert rewrite(text, {first: "z.png"}) == 'a{b:url("z.png");c:url(y.png)}'


def test_a_reference_from_another_text_is_refused() -> None:
    (ref,) = css_references("a{b:url(x.png)}")
    with pytest.raises(ValueError, match="does not fit"):
        rewrite("a{}", {ref: "y.png"})


def test_overlapping_references_are_refused() -> None:
    text = "a{b:url(x.png)}"
    (ref,) = css_references(text)
    clash = Reference("url", "x", ref.start, ref.end, ref.start, ref.end, "", 1, 1)
    with pytest.raises(ValueError, match="overlapping"):
        rewrite(text, {ref: "y.png", clash: "z"})
