"""The tokenizers take time linear in their input, whatever the input.

Hostile files (a stylesheet with 100,000 ``url()``s, a one-line bundle with
100,000 ``import()``s, a line of unterminated regex literals) once took time
quadratic in their size. Each test here times a tokenizer on an input and on one
four times bigger, and asserts the ratio, never a wall time: linear work grows
about 4 times, quadratic work 16 times. CPU time of this process, the best of a few
repeats, keeps other work on the machine out of the figure.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from corral.references import Reference, css_references, js_references, sourcemap_references

GROWTH = 4
LIMIT = 6.0  # linear is ~4; the quadratic code these tests guard against gave 11 to 15

PAD_CSS = ".b{color:red;margin:0 auto;padding:1px 2px}"
PAD_JS = "x=a+b*c;" * 12

Shape = tuple[Callable[[str], list[Reference]], Callable[[int], str]]

SHAPES: dict[str, Shape] = {
    "css url() on one line": (
        css_references,
        lambda n: "".join(f"a{{background:url(i{i}.png)}}{PAD_CSS}" for i in range(n)),
    ),
    "css url() on CRLF lines": (
        css_references,
        lambda n: "".join(f"a{{background:url(i{i}.png)}}{PAD_CSS}\r\n" for i in range(n)),
    ),
    "css @import and image-set()": (
        css_references,
        lambda n: "".join(f'@import "i{i}.css";a{{b:image-set("x{i}.png" 1x)}}' for i in range(n)),
    ),
    "js import() on one line": (
        js_references,
        lambda n: "".join(f'import("./m{i}.js");{PAD_JS}' for i in range(n)),
    ),
    "js static imports on lines": (
        js_references,
        lambda n: "".join(f'import a{i} from "./m{i}.js";{PAD_JS}\n' for i in range(n)),
    ),
    "js unterminated regex literals on one line": (
        js_references,
        lambda n: "import './a.js';" + "(/[" * (4 * n),
    ),
    "js sourceMappingURL comments": (
        js_references,
        lambda n: "".join(f"{PAD_JS}//# sourceMappingURL=m{i}.map\n" for i in range(n)),
    ),
    "source map with a long sources list": (
        sourcemap_references,
        lambda n: (
            '{"sources":[' + ",".join(f'"s{i}.js"' for i in range(48 * n)) + '],"file":"a.js"}'
        ),
    ),
}


def cpu_cost(tokenize: Callable[[str], list[Reference]], text: str, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        tokenize(text)
        best = min(best, time.process_time() - start)
    return max(best, 1e-6)


@pytest.mark.parametrize("name", SHAPES)
def test_tokenizing_time_grows_linearly(name: str) -> None:
    tokenize, make = SHAPES[name]
    n = 3000
    small, large = make(n), make(GROWTH * n)
    assert tokenize(large), "the shape must hold references, or it tests nothing"
    ratios = []
    for _ in range(5):  # a burst of load can spoil one measurement, not five
        ratio = cpu_cost(tokenize, large) / cpu_cost(tokenize, small)
        ratios.append(round(ratio, 1))
        if ratio < LIMIT:
            return
    pytest.fail(f"{name}: {GROWTH}x the input took {ratios}x the time (linear: ~{GROWTH}x)")
