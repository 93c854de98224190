"""The collector pause: off while a run builds its tables, restored as it was after."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import corral
from corral import BuildError, clean, collect
from corral.gcpause import gc_paused

from .conftest import config_for, write_tree


@pytest.fixture(autouse=True)
def _collector_restored() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    if enabled:
        gc.enable()
    else:
        gc.disable()


def test_the_collector_is_off_inside_and_on_again_after() -> None:
    gc.enable()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # an inner pause does not end the outer one
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    with gc_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_an_exception_still_restores_the_collector() -> None:
    gc.enable()
    with pytest.raises(ZeroDivisionError), gc_paused():
        _ = 1 / 0
    assert gc.isenabled()


def test_a_run_builds_its_tables_with_the_collector_paused(tmp_path: Path) -> None:
    write_tree(tmp_path / "assets", {"css/a.css": "a { color: red }", "b.txt": "b"})
    config = config_for(tmp_path, "assets")
    seen: list[bool] = []
    gc.enable()
    report = collect(config, progress=lambda *_: seen.append(gc.isenabled()))
    assert report.published
    assert seen and not any(seen)
    assert gc.isenabled()

    clean(config, keep=0)
    assert gc.isenabled()


def test_a_failed_run_restores_the_collector(tmp_path: Path) -> None:
    write_tree(tmp_path / "assets", {"a.txt": "a"})
    config = config_for(tmp_path, "assets", "missing")
    gc.enable()
    with pytest.raises(BuildError):
        collect(config)
    assert gc.isenabled()


_EXIT_PROBE = """
import os, sys
from corral.gcpause import skip_final_collection


class Cycle:
    def __del__(self):
        os.write(2, b"walked")  # run only by a collection: the object is in a cycle


probe = Cycle()
probe.me = probe
if sys.argv[1] == "skip":
    skip_final_collection()
"""


@pytest.mark.parametrize("mode", ["skip", "keep"])
def test_a_process_can_exit_without_the_last_collection(mode: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _EXIT_PROBE, mode],
        capture_output=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(Path(corral.__file__).parent.parent)},
    )
    # Without it the final collection finds the cycle and finalises it; with it, it
    # never walks the objects alive at exit.
    assert done.stderr == (b"" if mode == "skip" else b"walked")
