"""Randomised differential test: many generated CSS/JS files, corral's bytes == Django's.

The generator combines reference forms and spellings Django 5.2 handles
correctly (quotes, case, ``@import`` variants, queries, fragments, ``?#iefix``,
root-absolute URLs, skipped schemes, minified module syntax, source map
comments) with filler text. Left out on purpose, because Django gets them
wrong (see the package docstring): blanks between ``url(`` and a quote or
between a quote and ``)``, blanks inside an unquoted ``url( x )`` and queries
on references to CSS files (Django names them by their original bytes), a
bare ``import "x";`` (swallowed into the next ``from`` clause), and queries or
fragments in CSS source map comments (Django keeps the blank before ``*/``).
One Django process runs every case; the seed is fixed, so failures replay.
"""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import pytest

from corral.fingerprint import FingerprintOptions

from ..conftest import need
from .helpers import DjangoOutcome, Tree, run, run_django

TARGETS: dict[str, bytes] = {
    "img/a.png": b"A",
    "img/b.png": b"B",
    "fonts/f.woff2": b"W",
    "css/lib/x.css": b"x{y:url(../../img/a.png)}",
    "js/lib/m.js": b"export const m=1;\n",
    "js/n.js": b"export const n=2;\n",
}
IMAGES = ["../img/a.png", "/static/img/b.png", "./../img/a.png", "../fonts/f.woff2"]
CSS_URLS = [
    *IMAGES,
    "lib/x.css",
    "./lib/x.css",
    "../img/a.png?v=1",
    "../img/b.png#f",
    "../fonts/f.woff2?#iefix",
    "data:image/png;base64,AA",
    "http://x/y.png",
    "#g",
    "//h/x.png",
]
CSS_FORMS = [
    "url({})",
    "url('{}')",
    'url("{}")',
    "URL({})",
    '@import "{}";',
    "@import '{}' screen;",
    "@import url({});",
    "@import url('{}');",
    '@IMPORT "{}";',
    '@import"{}";',
    '@import   "{}" ;',
]
CSS_FILL = ["a{b:c}", "\n", " ", "x{background:", "}", ";", "\t", "@media print{", "\r\n"]
JS_URLS = ["./lib/m.js", "./n.js", "/static/js/n.js", "../js/n.js", "./lib/m.js?v=2", "./n.js#x"]
JS_FORMS = [
    'import {{m}} from "{}";',
    "import * as ns from '{}';",
    'import d from "{}";',
    'export * from "{}";',
    'export {{n}} from "{}";',
    'import("{}");',
    "import {{ m as q }}\nfrom '{}';",
    'export{{n}}from"{}";',
    'import{{m as b,c}}from"{}";',
    'import*as x from"{}";',
    'import("{}").then(f);',
    'export {{\n  n,\n  m as k\n}} from "{}";',
]
JS_FILL = ["const a = 1;", "function f(){return 2}", "let s = 'x';", "/* c */", "// line"]


def css(rng: random.Random) -> bytes:
    parts = []
    for _ in range(rng.randint(1, 8)):
        roll = rng.random()
        if roll < 0.45:
            parts.append(rng.choice(CSS_FILL))
        elif roll < 0.55:
            parts.append(f"\n/*# sourceMappingURL={rng.choice(IMAGES)} */\n")
        else:
            parts.append(rng.choice(CSS_FORMS).format(rng.choice(CSS_URLS)))
    return "".join(parts).encode()


def js(rng: random.Random) -> bytes:
    parts = []
    for _ in range(rng.randint(1, 6)):
        roll = rng.random()
        if roll < 0.35:
            parts.append(rng.choice(JS_FILL))
        elif roll < 0.45:
            parts.append(f"//# sourceMappingURL={rng.choice(JS_URLS)}")
        else:
            parts.append(rng.choice(JS_FORMS).format(rng.choice(JS_URLS)))
        parts.append("\n")
    return "".join(parts).encode()


def cases(count: int, seed: int = 2024) -> dict[str, tuple[Tree, bool]]:
    rng = random.Random(seed)
    out: dict[str, tuple[Tree, bool]] = {}
    for i in range(count):
        if i % 2:
            out[f"c{i}"] = ({**TARGETS, "css/t.css": css(rng)}, False)
        else:
            out[f"c{i}"] = ({**TARGETS, "js/t.js": js(rng)}, True)
    return out


CASES = cases(240)


@pytest.fixture(scope="module")
def django(tmp_path_factory: pytest.TempPathFactory) -> dict[str, DjangoOutcome]:
    need(importlib.util.find_spec("django") is not None, "needs Django 5.2")
    return run_django(CASES, Path(tmp_path_factory.mktemp("django-fuzz")))


def test_random_files_give_djangos_bytes(django: dict[str, DjangoOutcome]) -> None:
    mismatches = []
    for name, (tree, modules) in CASES.items():
        theirs = django[name]
        assert theirs.error is None, (name, tree)
        result = run(tree, FingerprintOptions(modules=modules))
        assert result.problems == []
        for logical, fp in result.fingerprints.items():
            ours = result.contents.get(logical, tree[logical])
            if fp.hashed != theirs.paths[logical] or ours != theirs.files[fp.hashed]:
                mismatches.append((name, logical, tree[logical]))
    assert mismatches == []
    rewritten = sum(
        1
        for name, (tree, modules) in CASES.items()
        if run(tree, FingerprintOptions(modules=modules)).rewrites
    )
    assert rewritten > len(CASES) * 0.8
