"""Differential tests: corral's names and bytes against real Django 5.2 on the same trees.

Each tree in ``SAME`` is one Django's ManifestStaticFilesStorage handles
correctly: corral must produce exactly the same ``staticfiles.json`` paths
and exactly the same bytes for every hashed file. Each tree in ``DIFFERENT``
is a documented, deliberate difference: the test pins what Django does and
what corral does instead.
"""

from __future__ import annotations

import json

import pytest

from corral.fingerprint import FingerprintOptions
from corral.fingerprint.manifest import django_manifest

from .helpers import DjangoOutcome, Tree, names, outputs, run, run_django

pytest.importorskip("django", minversion="5.2")

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
