"""Processing order: strongly connected components, dependencies first, deterministic."""

from __future__ import annotations

import random

from corral.fingerprint.graph import components, is_cycle


def position(order: list[tuple[str, ...]]) -> dict[str, int]:
    return {node: i for i, component in enumerate(order) for node in component}


def test_dependencies_come_first() -> None:
    edges = {"app.css": ["base.css", "img.png"], "base.css": ["img.png"], "img.png": []}
    assert components(edges) == [("img.png",), ("base.css",), ("app.css",)]


def test_cycles_are_one_component() -> None:
    edges = {
        "a.js": ["b.js"],
        "b.js": ["c.js"],
        "c.js": ["a.js", "util.js"],
        "util.js": [],
        "main.js": ["a.js"],
    }
    order = components(edges)
    assert order == [("util.js",), ("a.js", "b.js", "c.js"), ("main.js",)]
    assert is_cycle(("a.js", "b.js", "c.js"), edges)
    assert not is_cycle(("util.js",), edges)


def test_self_reference_is_a_cycle() -> None:
    edges = {"a.js": ["a.js"], "b.js": []}
    assert components(edges) == [("a.js",), ("b.js",)]
    assert is_cycle(("a.js",), edges)


def test_unknown_targets_are_ignored() -> None:
    assert components({"a.css": ["gone.png"]}) == [("a.css",)]


def test_same_order_whatever_the_input_order() -> None:
    rng = random.Random(7)
    nodes = [f"n{i}.js" for i in range(60)]
    edges = {n: rng.sample(nodes, 3) for n in nodes}
    expected = components(edges)
    for _ in range(20):
        shuffled = list(edges.items())
        rng.shuffle(shuffled)
        assert components({k: list(reversed(v)) for k, v in shuffled}) == expected
    where = position(expected)
    for node, targets in edges.items():
        for target in targets:
            assert where[target] <= where[node]


def test_long_chains_need_no_recursion() -> None:
    n = 20_000
    edges = {f"f{i}": [f"f{i + 1}"] for i in range(n)} | {f"f{n}": []}
    order = components(edges)
    assert order[0] == (f"f{n}",) and order[-1] == ("f0",)
    ring = {f"r{i}": [f"r{(i + 1) % n}"] for i in range(n)}
    assert [len(c) for c in components(ring)] == [n]
