"""Differential tests: corral's names and bytes against real Django on the same trees.

Each tree in ``SAME`` is one Django's ManifestStaticFilesStorage handles
correctly: corral must produce exactly the same ``staticfiles.json`` paths
and exactly the same bytes for every hashed file. Each tree in ``DIFFERENT``
is a documented, deliberate difference: the test pins what Django does and
what corral does instead. Django 6.0 fixed several of those (it no longer reads comments
and strings as references): under Django 6 those tests require Django's result to equal
corral's instead.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
from pathlib import Path

import pytest

from corral.fingerprint import FingerprintOptions, FingerprintResult
from corral.fingerprint.manifest import django_manifest

from ..conftest import need
from .helpers import DjangoOutcome, Tree, names, outputs, run, run_django


@pytest.fixture(scope="module", autouse=True)
def _django_installed() -> None:
    need(
        importlib.util.find_spec("django") is not None,
        "the differential tests need Django 5.2 (pip install django==5.2.19)",
    )


PNG = b"\x89PNG\r\n\x1a\n fake image"
FONT = b"wOF2 fake font"

SAME: dict[str, tuple[Tree, bool]] = {
    "css-url-forms": (
        {
            "css/app.css": (
                b"a{background:url(../img/a.png)}\n"
                b"b{background:url('../img/a.png')}\n"
                b'c{background:url("../img/a.png")}\n'
                b"d{background:URL(../img/b.png)}\n"
                b"e{background:url(../img/a.png#frag)}\n"
                b"f{background:url(../img/b.png?v=3)}\n"
                b"g{background:url(../img/b.png?v=3#x)}\n"
                b'h{background:url("./../img/./a.png")}\n'
                b"i{background:url(/static/img/a.png)}\n"
                b"j{background:url('/static/img/b.png#z')}\n"
            ),
            "img/a.png": PNG,
            "img/b.png": PNG + b"b",
        },
        False,
    ),
    "css-skipped": (
        {
            "css/skip.css": (
                b"a{background:url(data:image/png;base64,iVBORw0KGgo=)}\n"
                b"b{background:url(http://example.com/x.png)}\n"
                b"c{background:url(https://example.com/x.png)}\n"
                b"d{background:url(//cdn.example.com/x.png)}\n"
                b"e{background:url(#clip)}\n"
                b"f{background:url(/media/x.png)}\n"
                b'g{background:url("")}\n'
                b"h{background:url(../img/a.png)}\n"
            ),
            "img/a.png": PNG,
        },
        False,
    ),
    "css-fonts": (
        {
            "css/fonts.css": (
                b"@font-face{font-family:X;"
                b"src:url('../fonts/x.eot');"
                b"src:url('../fonts/x.eot?#iefix') format('embedded-opentype'),"
                b"url('../fonts/x.woff2') format('woff2'),"
                b"url('../fonts/x.svg#xregular') format('svg')}\n"
            ),
            "fonts/x.eot": FONT + b"eot",
            "fonts/x.woff2": FONT,
            "fonts/x.svg": b"<svg/>",
        },
        False,
    ),
    "css-imports": (
        {
            "css/a.css": (
                b"@import \"b.css\";\n@import url(c/c.css);\n@import 'b.css' screen;\nx{y:z}\n"
            ),
            "css/b.css": b"@import url('/static/css/c/c.css');\nb{background:url(../img/i.png)}\n",
            "css/c/c.css": b"c{background:url(../../img/i.png)}\n",
            "img/i.png": PNG,
        },
        False,
    ),
    "css-chain-of-four": (
        {
            "a.css": b'@import "b/b.css";',
            "b/b.css": b'@import "../c/c.css";',
            "c/c.css": b'@import "../d/d.css";',
            "d/d.css": b"d{background:url(../i.png)}",
            "i.png": PNG,
        },
        False,
    ),
    "css-sourcemap": (
        {
            "css/app.css": b"a{b:c}\n/*# sourceMappingURL=app.css.map */\n",
            "css/app.css.map": b'{"version":3,"file":"app.css","sources":[],"mappings":""}',
        },
        False,
    ),
    "css-bom-crlf-percent": (
        {
            "css/bom.css": b"\xef\xbb\xbfa{background:url(../img/a.png)}\r\nb{c:d}\r\n",
            "css/pct.css": (
                b"a{background:url(my%20dir/a%20b.png)}\nb{background:url(caf%C3%A9.png)}\n"
            ),
            "css/my dir/a b.png": PNG,
            "css/caf\u00e9.png": PNG + b"2",
            "img/a.png": PNG,
        },
        False,
    ),
    "js-sourcemap": (
        {
            "js/app.js": b"console.log(1);\n//# sourceMappingURL=app.js.map\n",
            "js/app.js.map": b'{"version":3,"file":"app.js","sources":[],"mappings":""}',
            "js/lib.min.js": b"!function(){}();\n//# sourceMappingURL=maps/lib.min.js.map",
            "js/maps/lib.min.js.map": b'{"version":3,"sources":[],"mappings":""}',
        },
        False,
    ),
    "js-modules-off": (
        {
            "js/app.js": b'import {a} from "./a.js";\nconsole.log(a);\n',
            "js/a.js": b"export const a = 1;\n",
        },
        False,
    ),
    "js-modules": (
        {
            "js/app.js": (
                b'import Default from "./lib/default.js";\n'
                b"import {a, b as c} from './lib/ab.js';\n"
                b'import * as ns from "./lib/ns.js";\n'
                b'export * from "./lib/ns.js";\n'
                b'export {a} from "./lib/ab.js";\n'
                b'const lazy = () => import("./lazy.js");\n'
                b'import React from "react";\n'
                b'import x from "/static/js/abs.js";\n'
            ),
            "js/lib/default.js": b'import {a} from "./ab.js";\nexport default a;\n',
            "js/lib/ab.js": b'import {n} from "./ns.js";\nexport const a = n, b = 2;\n',
            "js/lib/ns.js": b"export const n = 1;\n",
            "js/side.js": b"window.side = 1;\n",
            "js/entry.js": b"import \"./app.js\";\nimport './side.js';\n",
            "js/lazy.js": b"export default 1;\n",
            "js/abs.js": b"export default 2;\n",
        },
        True,
    ),
    "mixed": (
        {
            "app.css": b'@import "vendor/v.css";\nbody{background:url(img/bg.png)}\n',
            "vendor/v.css": b"v{background:url(../img/bg.png)}\n/*# sourceMappingURL=v.css.map */",
            "vendor/v.css.map": b'{"version":3,"sources":["v.scss"],"mappings":"AAAA"}',
            "img/bg.png": PNG,
            "main.js": b'import "./vendor/v.js";\n//# sourceMappingURL=main.js.map',
            "main.js.map": b'{"version":3,"sources":[],"mappings":""}',
            "vendor/v.js": b"export {};\n",
            "LICENSE": b"BSD",
            "archive.tar.gz": b"\x1f\x8b fake",
        },
        True,
    ),
}


@pytest.fixture(scope="module")
def django_same(tmp_path_factory: pytest.TempPathFactory) -> dict[str, DjangoOutcome]:
    return run_django(SAME, tmp_path_factory.mktemp("django-same"))


@pytest.mark.parametrize("case", sorted(SAME))
def test_same_names_and_bytes_as_django(case: str, django_same: dict[str, DjangoOutcome]) -> None:
    tree, modules = SAME[case]
    django = django_same[case]
    assert django.error is None
    result = run(tree, FingerprintOptions(modules=modules))
    assert result.problems == []
    assert names(result) == django.paths
    made = outputs(tree, result)
    for hashed, data in made.items():
        assert data == django.files[hashed], hashed
    # Django leaves the originals in place too; every hashed file it made is one of ours.
    hashed_by_django = set(django.paths.values())
    assert hashed_by_django == set(made)


@pytest.mark.parametrize("case", sorted(SAME))
def test_same_staticfiles_json_as_django(case: str, django_same: dict[str, DjangoOutcome]) -> None:
    tree, modules = SAME[case]
    result = run(tree, FingerprintOptions(modules=modules))
    ours = json.loads(django_manifest(result.fingerprints))
    assert ours == django_same[case].manifest


def test_the_cases_exercise_rewriting(django_same: dict[str, DjangoOutcome]) -> None:
    """Guard against a vacuous comparison: most cases must really rewrite files."""
    rewritten = 0
    for tree, modules in SAME.values():
        rewritten += len(run(tree, FingerprintOptions(modules=modules)).contents)
    assert rewritten >= 20


# -- deliberate differences -------------------------------------------------------------

DIFFERENT: dict[str, tuple[Tree, bool]] = {
    "comment-names-a-file": (
        {"a.css": b"/* was url(i.png) */\nb{background:url(i.png)}\n", "i.png": PNG},
        False,
    ),
    "comment-names-no-file": (
        {"a.css": b"/* background: url(gone.png) */\nb{c:d}\n"},
        False,
    ),
    "css-cycle": (
        {"a.css": b'@import "b.css";\na{x:y}', "b.css": b'@import "a.css";\nb{x:y}'},
        False,
    ),
    "long-chain": (
        {
            **{f"c{i}.css": f'@import "c{i + 1}.css";'.encode() for i in range(8)},
            "c8.css": b"z{background:url(i.png)}",
            "i.png": PNG,
        },
        False,
    ),
    "missing-sourcemap": (
        {"app.js": b"x();\n//# sourceMappingURL=app.js.map\n"},
        False,
    ),
    "upper-case-scheme": (
        {
            "a.css": b"a{background:url(DATA:image/png;base64,AAAA)}\nb{background:url(HTTPS://x/y.png)}"
        },
        False,
    ),
    "bare-dynamic-import": (
        {"app.js": b'const r = () => import("react");\n'},
        True,
    ),
    "import-in-string": (
        {"app.js": b"const s = 'import x from \"./gone.js\";';\n"},
        True,
    ),
    "query-to-rewritten-css": (
        {
            "a.css": b'@import "b.css?v=1";',
            "b.css": b"b{background:url(i.png)}",
            "i.png": PNG,
        },
        False,
    ),
    "image-set-strings": (
        {
            "a.css": b'a{background:image-set("i.png" 1x, "i2.png" 2x)}',
            "i.png": PNG,
            "i2.png": PNG + b"2",
        },
        False,
    ),
    "bare-import-then-export": (
        {
            "app.js": b'import "./side.js";\nexport * from "./ns.js";\n',
            "side.js": b"window.x = 1;\n",
            "ns.js": b"export const n = 1;\n",
        },
        True,
    ),
    "crlf-js-sourcemap": (
        {
            "app.js": b"x();\r\n//# sourceMappingURL=app.js.map\r\n",
            "app.js.map": b'{"version":3,"sources":[],"mappings":""}',
        },
        False,
    ),
    "blanks-around-quotes": (
        {"a.css": b"a{background:url(\"i.png\"   )}\nb{background:url(  'i.png')}", "i.png": PNG},
        False,
    ),
    "blank-in-url-to-css": (
        {
            "a.css": b"a{background:url( b.css )}",
            "b.css": b"b{background:url(i.png)}",
            "i.png": PNG,
        },
        False,
    ),
    "newline-before-close": (
        {"a.css": b'a{background:url("i.png"\n)}', "i.png": PNG},
        False,
    ),
    "upper-case-suffix": (
        {"APP.CSS": b"a{background:url(i.png)}", "i.png": PNG},
        False,
    ),
}


@pytest.fixture(scope="module")
def django_different(tmp_path_factory: pytest.TempPathFactory) -> dict[str, DjangoOutcome]:
    return run_django(DIFFERENT, tmp_path_factory.mktemp("django-different"))


def corral(case: str) -> tuple[Tree, FingerprintResult]:
    tree, modules = DIFFERENT[case]
    return tree, run(tree, FingerprintOptions(modules=modules))


def _django_major() -> int:
    try:
        return int(importlib.metadata.version("django").split(".")[0])
    except importlib.metadata.PackageNotFoundError:
        return 0


#: Django 6.0 skips comments and strings when it rewrites CSS and JS, as corral's tokenizers
#: do: the differences that came from Django 5.2 reading them are gone there.
DJANGO_6 = _django_major() >= 6


def agrees_with_django_6(case: str, django_different: dict[str, DjangoOutcome]) -> None:
    """On Django 6: the same names and bytes as corral's (the difference is Django 5.2's)."""
    django = django_different[case]
    tree, result = corral(case)
    assert django.error is None
    assert result.problems == []
    assert names(result) == django.paths
    for hashed, data in outputs(tree, result).items():
        assert django.files[hashed] == data, hashed


def test_django_rewrites_comments_corral_does_not(
    django_different: dict[str, DjangoOutcome],
) -> None:
    if DJANGO_6:
        agrees_with_django_6("comment-names-a-file", django_different)
        return
    django = django_different["comment-names-a-file"]
    _, result = corral("comment-names-a-file")
    assert django.error is None
    theirs = django.files[django.paths["a.css"]]
    ours = result.contents["a.css"]
    assert theirs.startswith(b'/* was url("i.') and ours.startswith(b"/* was url(i.png) */")
    assert ours.split(b"\n")[1:] == theirs.split(b"\n")[1:]


def test_django_dies_on_a_comment_naming_no_file(
    django_different: dict[str, DjangoOutcome],
) -> None:
    if DJANGO_6:
        agrees_with_django_6("comment-names-no-file", django_different)
        return
    assert "gone.png' could not be found" in (django_different["comment-names-no-file"].error or "")
    _, result = corral("comment-names-no-file")
    assert result.problems == [] and result.warnings == []


@pytest.mark.parametrize("case", ["css-cycle", "long-chain"])
def test_django_gives_up_after_five_passes(
    case: str, django_different: dict[str, DjangoOutcome]
) -> None:
    assert django_different[case].error == "RuntimeError: Max post-process passes exceeded."
    _, result = corral(case)
    assert result.problems == []
    assert result.cycles == ([("a.css", "b.css")] if case == "css-cycle" else [])


def test_long_chain_names_are_django_fixpoint(tmp_path: Path) -> None:
    """Where Django gives up, corral's names are what Django converges to given more passes."""
    tree, result = corral("long-chain")
    cases: dict[str, tuple[Tree, bool, int]] = {"long-chain": (tree, False, 20)}
    django = run_django(cases, tmp_path)["long-chain"]
    assert django.error is None
    assert names(result) == django.paths
    for hashed, data in outputs(tree, result).items():
        assert django.files[hashed] == data


def test_missing_source_map_warns_where_django_dies(
    django_different: dict[str, DjangoOutcome],
) -> None:
    assert "app.js.map' could not be found" in (django_different["missing-sourcemap"].error or "")
    _, result = corral("missing-sourcemap")
    assert result.problems == []
    assert [w.code for w in result.warnings] == ["missing-reference"]
    assert "app.js" not in result.contents  # left as written


@pytest.mark.parametrize("case", ["upper-case-scheme", "bare-dynamic-import", "import-in-string"])
def test_django_dies_where_corral_skips(
    case: str, django_different: dict[str, DjangoOutcome]
) -> None:
    if DJANGO_6 and case != "upper-case-scheme":
        agrees_with_django_6(case, django_different)
        return
    assert "could not be found" in (django_different[case].error or "")
    _, result = corral(case)
    assert result.problems == [] and result.warnings == [] and result.contents == {}


def test_query_to_rewritten_css_gets_its_final_name(
    django_different: dict[str, DjangoOutcome],
) -> None:
    django = django_different["query-to-rewritten-css"]
    _, result = corral("query-to-rewritten-css")
    final_b = result.fingerprints["b.css"].hashed
    assert django.paths["b.css"] == final_b
    theirs = django.files[django.paths["a.css"]]
    # Django points at the hash of b.css's *original* bytes: a file it never wrote.
    stale = theirs.split(b'"')[1].split(b"?")[0].decode()
    assert stale != final_b and stale not in django.files
    assert result.contents["a.css"] == f'@import url("{final_b}?v=1");'.encode()


def test_image_set_strings_are_rewritten(django_different: dict[str, DjangoOutcome]) -> None:
    django = django_different["image-set-strings"]
    assert django.files[django.paths["a.css"]] == DIFFERENT["image-set-strings"][0]["a.css"]
    _, result = corral("image-set-strings")
    i, i2 = result.fingerprints["i.png"].hashed, result.fingerprints["i2.png"].hashed
    assert result.contents["a.css"] == f'a{{background:image-set("{i}" 1x, "{i2}" 2x)}}'.encode()


def test_django_resolves_a_rewritten_specifier_again(
    django_different: dict[str, DjangoOutcome],
) -> None:
    """Django's import regex swallows ``import "./side.js";`` into the next ``from`` clause.

    Its export regex then sees the already hashed specifier and hashes it again:
    it dies here (the hashed ``ns`` is not saved yet) or, when it is, writes a
    doubly hashed name (see the ``js-modules`` case's history in the docs).
    """
    if DJANGO_6:
        agrees_with_django_6("bare-import-then-export", django_different)
        return
    _, result = corral("bare-import-then-export")
    ns = result.fingerprints["ns.js"].hashed
    assert f"The file '{ns}' could not be found" in (
        django_different["bare-import-then-export"].error or ""
    )
    side = result.fingerprints["side.js"].hashed
    assert result.contents["app.js"] == f'import"./{side}";\nexport * from "./{ns}";\n'.encode()


def test_crlf_source_map_line_keeps_its_cr(django_different: dict[str, DjangoOutcome]) -> None:
    django = django_different["crlf-js-sourcemap"]
    _, result = corral("crlf-js-sourcemap")
    m = result.fingerprints["app.js.map"].hashed
    assert django.paths["app.js.map"] == m
    assert django.files[django.paths["app.js"]] == f"x();\r\n//# sourceMappingURL={m}\n".encode()
    assert result.contents["app.js"] == f"x();\r\n//# sourceMappingURL={m}\r\n".encode()


def test_upper_case_suffix_is_rewritten(django_different: dict[str, DjangoOutcome]) -> None:
    django = django_different["upper-case-suffix"]
    assert django.files[django.paths["APP.CSS"]] == b"a{background:url(i.png)}"
    _, result = corral("upper-case-suffix")
    i = result.fingerprints["i.png"].hashed
    assert result.contents["APP.CSS"] == f'a{{background:url("{i}")}}'.encode()


def test_blanks_around_quotes_work_where_django_dies(
    django_different: dict[str, DjangoOutcome],
) -> None:
    assert "i.png\"' could not be found" in (django_different["blanks-around-quotes"].error or "")
    _, result = corral("blanks-around-quotes")
    i = result.fingerprints["i.png"].hashed
    assert (
        result.contents["a.css"]
        == f'a{{background:url("{i}")}}\nb{{background:url("{i}")}}'.encode()
    )


def test_blank_in_url_to_a_rewritten_css_gets_its_final_name(
    django_different: dict[str, DjangoOutcome],
) -> None:
    django = django_different["blank-in-url-to-css"]
    _, result = corral("blank-in-url-to-css")
    final_b = result.fingerprints["b.css"].hashed
    assert django.paths["b.css"] == final_b
    stale = django.files[django.paths["a.css"]].split(b'"')[1].decode()
    assert stale != final_b and stale not in django.files
    assert result.contents["a.css"] == f'a{{background:url("{final_b}")}}'.encode()


def test_newline_before_close_is_rewritten(django_different: dict[str, DjangoOutcome]) -> None:
    django = django_different["newline-before-close"]
    assert django.files[django.paths["a.css"]] == b'a{background:url("i.png"\n)}'
    _, result = corral("newline-before-close")
    i = result.fingerprints["i.png"].hashed
    assert result.contents["a.css"] == f'a{{background:url("{i}")}}'.encode()
