"""The shape of the source tree: no import cycles, no module over 600 lines.

Both lists of today's exceptions may only shrink: a new cycle or a new long module fails,
and so does an exception that no longer holds, so that its entry is removed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = "corral"
MAX_LINES = 600

#: Import cycles that exist today, each as its sorted modules. Remove an entry when its
#: cycle is broken; never add one.
KNOWN_CYCLES: set[tuple[str, ...]] = set()

#: Modules over MAX_LINES today, with their length then. They may only get shorter; remove
#: an entry once its module is split.
LONG_MODULES: dict[str, int] = {}


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement that can run: at module level, in functions, in branches;
    not those under ``if TYPE_CHECKING:``, which never run."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _type_checking(node):
            for child in node.orelse:
                yield from _imports(ast.Module(body=[child], type_ignores=[]))
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from _imports(node)


def imported(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The corral modules ``name`` imports, explicitly (as import graphs count them)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            targets = [f"{base}.{alias.name}" for alias in node.names]
            targets = [t if t in known else base for t in targets]
        out |= {t for t in targets if t in known and t != name}
    return out


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imported(name, path, known) for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> set[tuple[str, ...]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[tuple[str, ...]] = set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.add(tuple(sorted(component)))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_imports_everywhere() -> None:
    edges = graph()
    assert "corral.references.text" in edges["corral.references.css"]  # module level
    assert "corral.fingerprint.scan" in edges["corral.workers"]  # inside a function
    assert "corral.references" in edges["corral.fingerprint.scan"]  # a package


def test_the_cycle_finder_finds_cycles() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(edges) == {("a", "b", "c")}


def test_no_import_cycles_beyond_the_known_ones() -> None:
    found = cycles(graph())
    assert sorted(found - KNOWN_CYCLES) == [], "a new import cycle"
    assert sorted(KNOWN_CYCLES - found) == [], "a known cycle is gone: remove it from the list"


def test_no_module_is_over_600_lines_beyond_the_known_ones() -> None:
    lengths = {
        str(path.relative_to(SRC)): len(path.read_text(encoding="utf-8").splitlines())
        for path in modules().values()
    }
    too_long = {name: n for name, n in lengths.items() if n > LONG_MODULES.get(name, MAX_LINES)}
    assert too_long == {}, f"over {MAX_LINES} lines (or longer than allowed)"
    split = sorted(name for name in LONG_MODULES if lengths.get(name, 0) <= MAX_LINES)
    assert split == [], "no longer over the limit: remove it from LONG_MODULES"


#: What a stage of corral/build/ may call on ``os``: nothing that touches the file system.
_OS_ALLOWED = {"cpu_count"}


def test_the_stages_reach_the_file_system_only_through_their_target() -> None:
    found: list[str] = []
    for name, path in modules().items():
        if not name.startswith("corral.build"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                module = node.module if isinstance(node, ast.ImportFrom) else None
                for imported_name in [*names, *([module] if module else [])]:
                    if imported_name.split(".")[0] in {"shutil", "tempfile", "pathlib", "io"}:
                        found.append(f"{name} imports {imported_name}")
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                if node.value.id == "os" and node.attr not in _OS_ALLOWED:
                    found.append(f"{name} calls os.{node.attr}")
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "open"
            ):
                found.append(f"{name} calls open()")
    assert found == []


def test_the_stages_name_the_local_target_only_to_construct_it() -> None:
    uses: list[str] = []
    for name, path in modules().items():
        if not name.startswith("corral.build"):
            continue
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Name) and node.id == "LocalTarget":
                uses.append(f"{name}:{node.lineno}: {ast.get_source_segment(source, node)}")
        constructs = source.count("LocalTarget(") + source.count("LocalTarget.for_config(")
        named = sum(1 for u in uses if u.startswith(f"{name}:"))
        assert named == constructs, uses
    assert uses, "the assembler constructs the local target"
