"""Fuzzing what users and accidents hand corral: command-line arguments, configuration files
and corral's own state file. Whatever they hold: no traceback, a clear error (or a correct
run), and nothing changed by a run that was refused."""

from __future__ import annotations

import contextlib
import io
import json
import math
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from corral import CorralError, check, collect
from corral.cli import main

from .conftest import config_for, served_files, state_path, write_tree

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SOURCES = {"css/app.css": b"body { background: url(../img/a.png) }", "img/a.png": b"png"}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["", "..", "/", "/etc", "static_root", "assets", "x=y", "sha384", "*"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@contextlib.contextmanager
def site() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="corral-fuzz-") as where:
        base = Path(where)
        write_tree(base / "assets", SOURCES)
        yield base


def run_cli(*argv: str, cwd: Path) -> tuple[int, str]:
    """corral's ``main`` in ``cwd``: its exit status and what it wrote to stderr."""
    err = io.StringIO()
    with (
        contextlib.chdir(cwd),
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(err),
    ):
        try:
            status = main(list(argv))
        except SystemExit as exc:  # argparse's usage errors
            status = exc.code if isinstance(exc.code, int) else 2
    return status, err.getvalue()


# --- the state file -----------------------------------------------------------------------


def mutations() -> st.SearchStrategy[tuple[str, Any]]:
    keys = st.sampled_from(
        ["format", "release", "scanned_ns", "sources", "targets", "compression", "hashing",
         "derived", "retired", "<whole>", "<record>"]
    )  # fmt: skip
    return st.tuples(keys, json_values)


def mutate(state: dict[str, Any], key: str, value: Any) -> Any:
    if key == "<whole>":
        return value
    if key == "<record>":
        for table in ("sources", "targets"):
            for name in list(state[table])[:1]:
                state[table][name] = value
        return state
    state[key] = value
    return state


@FUZZ
@example(("release", 0))  # found by this test: a release with no record
@example(("release", 99))
@given(mutations())
def test_any_state_file_gives_a_correct_run_or_a_clear_error(change: tuple[str, Any]) -> None:
    with site() as base:
        config = config_for(base, "assets", hash=True)
        collect(config)
        state_file = state_path(base / "static_root") / "state.json"
        state = json.loads(state_file.read_bytes())
        state_file.write_text(json.dumps(mutate(state, *change)))
        check(config)  # never a traceback, whatever it finds
        before = served_files(base / "static_root")
        try:
            collect(config)
        except CorralError:  # e.g. a state that forgot which files are corral's
            assert served_files(base / "static_root") == before  # and nothing changed
            return
        published = served_files(base / "static_root")  # else: the right result
        assert {k: published[k] for k in SOURCES} == SOURCES
        assert check(config).ok


@FUZZ
@given(st.binary(max_size=64))
def test_any_bytes_in_the_state_file_are_survived(data: bytes) -> None:
    with site() as base:
        config = config_for(base, "assets")
        collect(config)
        (state_path(base / "static_root") / "state.json").write_bytes(data)
        collect(config)
        assert served_files(base / "static_root") == SOURCES


# --- configuration files ------------------------------------------------------------------


def toml(value: Any) -> str:
    """A TOML value (inline) for a JSON-like one."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if abs(value) < 2**63 else json.dumps(str(value))
    if isinstance(value, float):
        return (
            "nan"
            if math.isnan(value)
            else ("inf" if value > 0 else "-inf")
            if math.isinf(value)
            else repr(value)
        )
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml(v) for v in value if v is not None) + "]"
    if isinstance(value, dict):
        items = (f"{json.dumps(k)} = {toml(v)}" for k, v in value.items() if v is not None)
        return "{" + ", ".join(items) + "}"
    return '""'


KEYS = ["root", "url", "sources", "ignore", "default_ignore", "strict", "keep", "hash",
        "modules", "missing", "accept_missing", "passthrough", "integrity", "compress",
        "state_dir", "cache_dir", "jobs", "bogus"]  # fmt: skip


@FUZZ
@given(
    st.dictionaries(st.sampled_from(KEYS), json_values.filter(lambda v: v is not None), max_size=5),
    json_values.filter(lambda v: v is not None),
)
def test_any_configuration_gives_a_run_or_a_clear_error_and_a_refusal_changes_nothing(
    table: dict[str, Any], parent_tool: Any
) -> None:
    with site() as base:
        project = base / "project"
        shutil.copytree(base / "assets", project / "assets")
        (base / "pyproject.toml").write_text(f"tool = {toml(parent_tool)}\n")
        body = "\n".join(f"{key} = {toml(value)}" for key, value in table.items())
        (project / "pyproject.toml").write_text(f"[tool.corral]\n{body}\n")
        before = sorted(p.relative_to(base) for p in base.rglob("*"))
        status, err = run_cli("collect", "--no-compress", cwd=project)
        assert "Traceback" not in err
        assert status in (0, 1, 2), err
        if status == 2:  # a configuration error: nothing was written anywhere
            assert sorted(p.relative_to(base) for p in base.rglob("*")) == before
            assert "ERROR" in err or "error" in err


# --- command-line arguments ---------------------------------------------------------------

FLAGS = ["collect", "check", "clean", "find", "compress", "--root", "--source", "--package",
         "--ignore", "--url", "--keep", "--wait", "--state-dir", "--config", "-n", "-c",
         "--force", "--deep", "--json", "--no-hash", "--strict", "-v", "-q"]  # fmt: skip
VALUES = ["static_root", "assets", "x=assets", "inf", "nan", "-1", "1e400", "0", "..", "/",
          "", "a\x00b", "pyproject.toml", "/static/", "assets/css/app.css"]  # fmt: skip


@FUZZ
@example(["collect", "--root", "static_root", "--source", "assets", "--wait", "inf"])
@example(["collect", "--root", "static_root", "--source", "assets", "--wait", "nan"])
@example(["check", "--root", "assets/css/app.css", "--source", "assets"])
@given(st.lists(st.sampled_from(FLAGS + VALUES), min_size=1, max_size=7))
def test_any_command_line_gives_an_answer_not_a_traceback(argv: list[str]) -> None:
    with site() as base:
        status, err = run_cli(*argv, cwd=base)
        assert "Traceback" not in err
        assert status in (0, 1, 2), (argv, err)


def test_compress_over_a_broken_symlink_is_a_clear_problem(tmp_path: Path) -> None:
    write_tree(tmp_path / "built", {"a.css": "body { color: red }\n" * 40})
    (tmp_path / "built/gone.css").symlink_to(tmp_path / "nowhere.css")
    status, err = run_cli("compress", "built", cwd=tmp_path)
    assert status == 1 and "Traceback" not in err
    assert "broken symbolic link" in err and "gone.css" in err
    assert sorted(p.name for p in (tmp_path / "built").iterdir()) == ["a.css", "gone.css"]


def test_a_wrong_typed_state_is_survived_by_collect_and_check(tmp_path: Path) -> None:
    write_tree(tmp_path / "assets", SOURCES)
    config = config_for(tmp_path, "assets")
    collect(config)
    state_file = state_path(tmp_path / "static_root") / "state.json"
    state = json.loads(state_file.read_bytes())
    state.update(release="1", sources=[], scanned_ns="now")
    state_file.write_text(json.dumps(state))
    check(config)
    collect(config)
    assert served_files(tmp_path / "static_root") == SOURCES


@pytest.mark.parametrize("tool", ["3", '"corral"', "[1, 2]", "true"])
def test_a_non_table_tool_in_a_parent_pyproject_does_not_break_a_run_by_flags(
    tmp_path: Path, tool: str
) -> None:
    (tmp_path / "pyproject.toml").write_text(f"tool = {tool}\n")
    write_tree(tmp_path / "project/assets", SOURCES)
    status, err = run_cli(
        "collect", "--root", "static_root", "--source", "assets", cwd=tmp_path / "project"
    )
    assert status == 0, err
    assert served_files(tmp_path / "project/static_root").keys() >= SOURCES.keys()
