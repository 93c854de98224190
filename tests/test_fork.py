"""One function in a forked child: the same result as in this process, the child always
reaped, and this process's own run when the child cannot give it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import corral
import corral.build.intact
import corral.fork
import corral.state
from corral import collect
from corral.build.intact import AllBut, inspect_later
from corral.fork import in_child
from corral.lock import TargetLock
from corral.targets.local import LocalTarget

from .conftest import config_for, served_files, write_tree


def _no_children_left() -> bool:
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def test_the_result_comes_from_another_process() -> None:
    here = os.getpid()
    result = in_child(lambda: (os.getpid(), sorted({"b", "a"})))()
    assert result[1] == ["a", "b"]
    assert result[0] != here  # it ran in the child
    assert _no_children_left()


def test_a_failing_child_costs_the_speed_up_not_the_result() -> None:
    here = os.getpid()

    def fails_in_the_child() -> int:
        if os.getpid() != here:
            raise RuntimeError("only in the child")
        return 42

    assert in_child(fails_in_the_child)() == 42
    assert _no_children_left()


def test_a_child_that_dies_costs_the_speed_up_not_the_result() -> None:
    here = os.getpid()

    def dies_in_the_child() -> str:
        if os.getpid() != here:
            os._exit(3)
        return "here"

    assert in_child(dies_in_the_child)() == "here"
    assert _no_children_left()


def test_where_forking_is_not_safe_the_function_runs_here(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(corral.fork, "usable", lambda: False)
    here = os.getpid()
    assert in_child(os.getpid)() == here


@pytest.mark.parametrize("early", [False, True])
def test_a_run_checks_its_published_files_in_a_child_and_still_sees_every_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, early: bool
) -> None:
    monkeypatch.setattr(corral.state, "RACY_NS", 0)
    monkeypatch.setattr(corral.build.intact, "MIN_CHECK_FILES", 1)
    monkeypatch.setattr(corral.build.intact, "EARLY_FORK_BYTES", 1 if early else 1 << 40)
    forked: list[int] = []
    real = corral.build.intact.in_child

    def counting(fn: object) -> object:
        forked.append(1)
        return real(fn)  # type: ignore[arg-type]

    monkeypatch.setattr(corral.build.intact, "in_child", counting)
    write_tree(tmp_path / "assets", {f"css/{i}.css": f"a{{b:{i}}}\n" for i in range(5)})
    config = config_for(tmp_path, "assets")
    collect(config)
    root = tmp_path / "static_root"
    (root / "css/2.css").write_text("tampered\n")  # by hand, in place
    (root / "css/3.css").unlink()
    report = collect(config)
    assert forked == [1]  # a first run into an empty root has nothing to check
    assert report.repaired == ["css/2.css", "css/3.css"]
    assert served_files(root)["css/2.css"] == b"a{b:2}\n"
    assert (root / "css/3.css").read_bytes() == b"a{b:3}\n"
    assert collect(config).repaired == []
    assert forked == [1, 1] and _no_children_left()


def test_the_run_keeps_its_lock_when_the_child_exits(tmp_path: Path) -> None:
    lock_file = tmp_path / "lock"
    lock_file.touch()
    with TargetLock(lock_file, tmp_path, wait=0):
        assert in_child(os.getpid)() != os.getpid()
        probe = (
            "import sys\n"
            "from pathlib import Path\n"
            "from corral.errors import LockError\n"
            "from corral.lock import TargetLock\n"
            "try:\n"
            "    with TargetLock(Path(sys.argv[1]), Path(sys.argv[2]), wait=0):\n"
            "        print('acquired')\n"
            "except LockError:\n"
            "    print('held')\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", probe, str(lock_file), str(tmp_path)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": str(Path(corral.__file__).parent.parent)},
        )
        assert done.stdout.strip() == "held"


def _collected_for_an_early_fork(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Any, Path]:
    """A collected root whose state counts as big: the intact check forks before loading."""
    monkeypatch.setattr(corral.build.intact, "EARLY_FORK_BYTES", 1)
    write_tree(tmp_path / "assets", {f"css/{i}.css": f"a{{b:{i}}}\n" for i in range(5)})
    config = config_for(tmp_path, "assets")
    collect(config)
    return config, tmp_path / "static_root"


def test_the_child_is_forked_before_the_state_is_loaded_and_reads_it_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, root = _collected_for_an_early_fork(tmp_path, monkeypatch)
    (root / "css/1.css").write_text("tampered\n")
    events: list[str] = []
    real_fork, real_load = corral.build.intact.in_child, corral.build.intact.load_state_as_read

    def forking(fn: Any) -> Any:
        events.append("fork")
        return real_fork(fn)

    def loading(store: Any) -> Any:
        events.append("load")
        return real_load(store)

    monkeypatch.setattr(corral.build.intact, "in_child", forking)
    monkeypatch.setattr(corral.build.intact, "load_state_as_read", loading)
    target = LocalTarget.for_config(config)
    state, intact_later = inspect_later(target)
    intact = intact_later()
    assert events == ["fork", "load"]
    assert isinstance(intact, AllBut)  # the child's answer
    assert set(state.targets) - set(intact) == {"css/1.css"}
    assert _no_children_left()


def test_the_childs_answer_is_not_taken_for_records_the_state_file_does_not_hold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, root = _collected_for_an_early_fork(tmp_path, monkeypatch)
    # A killed run was placing a file: it is corral's, and not known to be as written.
    (root / "css/placed.css").write_text("half done\n")
    target = LocalTarget.for_config(config)
    target.state.save_pending({"css/placed.css": "0" * 64})
    state, intact_later = inspect_later(target)
    intact = intact_later()
    assert "css/placed.css" in state.targets and "css/placed.css" not in intact
    assert set(intact) == set(state.targets) - {"css/placed.css"}
    # The state names a release whose record is lost: the records of the others are
    # taken as unknown (the same paths, so the same count, as the child read).
    target.state.clear_pending()
    (tmp_path / "assets/css/0.css").write_text("a{b:changed}\n")
    collect(config)
    ids = target.state.release_ids()
    target.state._release_path(ids[-1]).unlink()
    state, intact_later = inspect_later(target)
    listed = set(target.state.load_release(ids[0]).files)
    assert listed and not listed & set(intact_later())
    # A torn state file: the child reads nothing, the records come from the releases.
    target.state.clear_pending()
    target.state.state_file.write_bytes(b'{"format": 3, "targets": {\n"css/0.css"')
    state, intact_later = inspect_later(target)
    assert state.targets and intact_later() == set()  # every identity unknown
    assert _no_children_left()
