"""The plain-greedy fallback for Pythons whose possessive quantifiers are broken (< 3.11.5)."""

from __future__ import annotations

import importlib
from collections.abc import Iterator

import pytest

from corral.references import css, js, text

CSS = """@import "a.css";
/* url(commented.png) */ .x { background: url( 'img/b.png' ) }
.y { content: "url(not-a-ref.png)"; background-image: image-set("c.png" 1x, url(d.png) 2x); }
/*# sourceMappingURL=app.css.map */
"""
JS = """import x from "./a.js"; // import y from "./commented.js"
const s = 'import("./in-string.js")', r = /import\\("x"\\)/g, t = `${import("./b.js")}`;
export * from "../c.mjs"; const z = import("./d.js");
//# sourceMappingURL=app.js.map
"""


def _refs() -> list[tuple[str, str, int, int]]:
    found = css.css_references(CSS) + js.js_references(JS)
    return [(r.kind, r.url, r.line, r.column) for r in found]


@pytest.fixture
def plain_patterns(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(text, "_POSSESSIVE_WORKS", False)
    importlib.reload(css)
    importlib.reload(js)
    yield
    monkeypatch.undo()
    importlib.reload(css)
    importlib.reload(js)


def test_the_fallback_drops_only_the_possessive_markers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text, "_POSSESSIVE_WORKS", False)
    assert text.compile_scanner(r"(?:[^a]++|b)*+c?+").pattern == r"(?:[^a]+|b)*c?"


NATIVE = _refs()  # with this Python's own patterns, at import


def test_plain_patterns_find_the_same_references(plain_patterns: None) -> None:
    assert css._SKIP.pattern.count("++") == 0  # the fallback is really in use
    plain = _refs()
    assert plain == NATIVE
    urls = {r[1] for r in plain}
    assert {"a.css", "img/b.png", "c.png", "d.png", "./a.js", "./b.js", "../c.mjs"} <= urls
    assert not urls & {"commented.png", "not-a-ref.png", "./commented.js", "./in-string.js"}
