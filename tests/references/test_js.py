from __future__ import annotations

import pytest

from corral.references import js_references
from corral.references.js import js_unescape

Found = tuple[str, str, str]  # kind, url, quote


def found(text: str) -> list[Found]:
    refs = js_references(text)
    for ref in refs:
        assert 0 <= ref.construct_start <= ref.start <= ref.end <= ref.construct_end <= len(text)
        if ref.quote:
            assert text[ref.start - 1] == ref.quote == text[ref.end]
    return [(r.kind, r.url, r.quote) for r in refs]


M = "module"
D = "dynamic-import"
S = "sourcemap"

CASES: list[tuple[str, str, list[Found]]] = [
    # What counts.
    ("default import", 'import a from "./a.js";', [(M, "./a.js", '"')]),
    (
        "named, single quotes, no semicolon",
        "import {a as b, c} from './a.js'",
        [(M, "./a.js", "'")],
    ),
    ("namespace, minified", 'import*as m from"./a.js";', [(M, "./a.js", '"')]),
    ("default and named", 'import a, {b} from "../a.js"', [(M, "../a.js", '"')]),
    ("multi-line clause", 'import {\n  a,\n  b as c,\n} from "./a.js"', [(M, "./a.js", '"')]),
    ("string names", 'import {"a-b" as c} from "./a.js"', [(M, "./a.js", '"')]),
    ("a binding called from", 'import from from "./a.js"', [(M, "./a.js", '"')]),
    (
        "comments in the clause",
        'import /* x */ a /* y */ from /* z */ "./a.js"',
        [(M, "./a.js", '"')],
    ),
    (
        "bare import",
        "import './side.js';import\"./b.js\"",
        [(M, "./side.js", "'"), (M, "./b.js", '"')],
    ),
    ("bare specifier", 'import React from "react";', [(M, "react", '"')]),
    ("export star", 'export * from "./a.js";', [(M, "./a.js", '"')]),
    (
        "export star as",
        'export * as ns from "./a.js";export*as"x"from"./b.js"',
        [(M, "./a.js", '"'), (M, "./b.js", '"')],
    ),
    ("export named from", "export { a, b as default } from './a.js'", [(M, "./a.js", "'")]),
    (
        "import attributes",
        'import j from "./a.json" with { type: "json" };',
        [(M, "./a.json", '"')],
    ),
    ("dynamic import", 'const m = import("./lazy.js");', [(D, "./lazy.js", '"')]),
    (
        "dynamic import with blanks and comments",
        'import( /* webpackChunkName: "x" */ "./a.js" )',
        [(D, "./a.js", '"')],
    ),
    (
        "dynamic import with options",
        'import("./a.json", { with: { type: "json" } })',
        [(D, "./a.json", '"')],
    ),
    ("dynamic import, plain template", "import(`./a.js`)", [(D, "./a.js", "`")]),
    ("spread of a dynamic import", 'f(...import("./a.js"))', [(D, "./a.js", '"')]),
    ("escapes resolved", r'import "./\u0061\x62\u{63}.js"', [(M, "./abc.js", '"')]),
    ("sourceMappingURL", "let a;\n//# sourceMappingURL=app.js.map\n", [(S, "app.js.map", "")]),
    ("legacy //@", "//@ sourceMappingURL=app.js.map", [(S, "app.js.map", "")]),
    ("block comment sourceMappingURL", "a()\n/*# sourceMappingURL=a.map */", [(S, "a.map", "")]),
    ("trailing blanks", "//# sourceMappingURL=a.map \t\r\nx", [(S, "a.map", "")]),
    (
        "data url source map",
        "//# sourceMappingURL=data:application/json;base64,e30=",
        [(S, "data:application/json;base64,e30=", "")],
    ),
    ("after a hashbang", '#!/usr/bin/env node\nimport "./a.js"', [(M, "./a.js", '"')]),
    # Never inside strings, comments, templates or regexes.
    ("in a string", "const s = \"import('./a.js')\" + 'import \"./b.js\"';", []),
    ("in comments", '// import a from "./a.js"\n/* import("./b.js") */', []),
    (
        "TinyMCE's JSDoc comment",
        '//   @typedef {InstanceType<import("./prism-core")["Token"]>} Token',
        [],
    ),
    ("in a template", 'const t = `import "./a.js" ${1} import("./b.js")`;', []),
    (
        "code in a substitution counts",
        "const t = `x ${ import('./a.js') } y`;",
        [(D, "./a.js", "'")],
    ),
    ("nested templates", "`${ `${ import('./a.js') }` } import('./b.js')`", [(D, "./a.js", "'")]),
    (
        "braces inside a substitution",
        "`${ {a: import('./a.js')}.a } ${'}'} import('./b.js')`",
        [(D, "./a.js", "'")],
    ),
    ("in a regex", 'x = /import("y")/; import("./z.js")', [(D, "./z.js", '"')]),
    ("regex with a quote", "a = /\"/; import('./z.js')", [(D, "./z.js", "'")]),
    ("regex with a slash in a class", "a = /[/\"]/g; import('./z.js')", [(D, "./z.js", "'")]),
    ("regex after return", "function f(){return /'/}\nimport('./z.js')", [(D, "./z.js", "'")]),
    ("regex after typeof and (", "typeof /'/; f(/'/); import('./z.js')", [(D, "./z.js", "'")]),
    ("regex after if (...)", "if (a) /'/.test(b); import('./z.js')", [(D, "./z.js", "'")]),
    ("regex after }", "{}\n/'/.test(x); import('./z.js')", [(D, "./z.js", "'")]),
    ("division chain", "x = a / b / c; import('./z.js')", [(D, "./z.js", "'")]),
    ("division after )", "x = (a) / 2 / (b) ; import('./z.js')", [(D, "./z.js", "'")]),
    ("division after ]", "x = a[0] / 2 /c[1]; import('./z.js')", [(D, "./z.js", "'")]),
    ("division after a string", "x = '1' / 2 / '3'; import('./z.js')", [(D, "./z.js", "'")]),
    (
        "division after a property named like a keyword",
        "x = a.return / 2 / b; import('./z.js')",
        [(D, "./z.js", "'")],
    ),
    ("division after a number", "x = 1./2/3; y = 10/2/'a'; import('./z.js')", [(D, "./z.js", "'")]),
    ("division after a comment", "x = a /* c */ / b / 'q'; import('./z.js')", [(D, "./z.js", "'")]),
    (
        "division after a line comment",
        "x = a // c\n / b / 'q'; import('./z.js')",
        [(D, "./z.js", "'")],
    ),
    ("division after ++", "x = a++ / 2 / 'q'; import('./z.js')", [(D, "./z.js", "'")]),
    # A "/" in a string after the division: taken for a regex, the division's "/" would
    # end at that "/" and the string's closing quote would open a string that swallows
    # the import. Each fails if its "/" is taken for a regex (a mutant of the rule).
    ("division after ], then a slash", 'a[0]/2,p="/";import("./x.js")', [(D, "./x.js", '"')]),
    ("division after ), then a slash", '(a)/2,p="/";import("./x.js")', [(D, "./x.js", '"')]),
    ("division after a name, then a slash", 'a/2,p="/";import("./x.js")', [(D, "./x.js", '"')]),
    ("division after a number, then a slash", '1/2,p="/";import("./x.js")', [(D, "./x.js", '"')]),
    ("division after a string, then a slash", '"1"/2,p="/";import("./x.js")', [(D, "./x.js", '"')]),
    ("division after ++, then a slash", 'a++/2,p="/";import("./x.js")', [(D, "./x.js", '"')]),
    (
        "division after a template, then a slash",
        '`1`/2,p="/";import("./x.js")',
        [(D, "./x.js", '"')],
    ),
    ("division after a regex, then a slash", '/a/g/2,p="/";import("./x.js")', [(D, "./x.js", '"')]),
    (
        "division after a property named return, then a slash",
        'a.return/2,p="/";import("./x.js")',
        [(D, "./x.js", '"')],
    ),
    (
        "a regex on the line after an unterminated one",
        "x = (/[\n/'/; import('./z.js')",
        [(D, "./z.js", "'")],
    ),
    ("regex in a substitution", "`${ /`/ }` + import('./z.js')", [(D, "./z.js", "'")]),
    (
        "unterminated regex is a division",
        "x = a\n/ 2 /\n'q'; import('./z.js')",
        [(D, "./z.js", "'")],
    ),
    # Not the keyword.
    ("import.meta", "const u = import.meta.url; import . meta", []),
    ("property calls", 'obj.import("./a.js"); obj?.import("./b.js"); obj . import("./c.js")', []),
    ("property names", 'x.export = 1; x.import = "./a.js"; ({import: "./b.js"})', []),
    ("longer identifiers", 'important("./a.js"); reimport("./b.js"); exports = "./c.js"', []),
    ("private names", 'this.#import("./a.js")', []),
    ("method shorthand", "({ import(x) { return x } })", []),
    ("not a literal", 'import("./a" + b); import(`./${a}.js`); import(a)', []),
    ("export without from", "export { a }; export default 'x'; export const b = 'y'", []),
    ("export clause then an import", 'export { a }\nimport b from "./b.js"', [(M, "./b.js", '"')]),
    ("import then an assignment", 'class A { import\n x = "./a.js" }', []),
    ("sourceMappingURL with text after", "//# sourceMappingURL=a.map and more", []),
    ("sourceMappingURL case", "//# sOuRcEMaPpInGURL=a.map", []),
    ("sourceMappingURL in a string", 'x = "//# sourceMappingURL=a.map"', []),
    ("unterminated string", "x = 'import(\"./a.js\")\nimport('./b.js')", [(D, "./b.js", "'")]),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_js_references(text: str, expected: list[Found]) -> None:
    assert found(text) == expected


def test_constructs() -> None:
    text = 'import {a} from "./a.js";\nimport("./b.js");\n//# sourceMappingURL=c.map  \n'
    spans = [text[r.construct_start : r.construct_end] for r in js_references(text)]
    assert spans == ['import {a} from "./a.js"', 'import("./b.js")', "//# sourceMappingURL=c.map  "]


def test_line_and_column_with_crlf() -> None:
    text = 'let s = "x";\r\n\r\n  import a from "./a.js";\r\nx(import("./b.js"))\r\n'
    assert [(r.url, r.line, r.column) for r in js_references(text)] == [
        ("./a.js", 3, 18),
        ("./b.js", 4, 11),
    ]


def test_line_separators_end_line_comments() -> None:
    text = '// comment\u2028import "./a.js"'
    assert found(text) == [(M, "./a.js", '"')]


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("plain", "plain"),
        (r"a\nb\tc", "a\nb\tc"),
        (r"\x41\u0042\u{43}", "ABC"),
        (r"\ud83d\ude00", "\U0001f600"),
        (r"\0", "\0"),
        (r"\101", "A"),
        ("a\\\nb", "ab"),
        (r"\'\"\\", "'\"\\"),
        (r"\q", "q"),
    ],
)
def test_js_unescape(raw: str, value: str) -> None:
    assert js_unescape(raw) == value


def test_template_text_normalises_carriage_returns() -> None:
    assert js_unescape("a\r\nb\rc", template=True) == "a\nb\nc"


def test_constructs_never_overlap() -> None:
    text = 'import(/*# sourceMappingURL=a.map */ "./a.js"); import from import c from "./c.js"'
    refs = js_references(text)
    assert [(r.kind, r.url) for r in refs] == [(D, "./a.js"), (M, "./c.js")]
