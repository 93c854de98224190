"""One state directory serves one root: a state set by hand that records another root is
refused before anything is written; the default location moves with its root."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from corral import TargetError, collect

from .conftest import config_for, served_files, snapshot, write_tree


def test_two_roots_sharing_one_state_dir_are_refused(project: Path) -> None:
    shared = project / "state"
    collect(config_for(project, root=project / "site_a", state_dir=shared))
    other = project / "site_b"
    write_tree(other, {"robots.txt": "hand-placed\n"})
    before = snapshot(project)
    with pytest.raises(TargetError) as caught:
        collect(config_for(project, root=other, state_dir=shared), force=True)
    assert str(project / "site_a") in caught.value.message
    assert "state_dir" in (caught.value.hint or "")
    assert snapshot(project) == before  # nothing written, nothing pruned in either root
    assert (other / "robots.txt").read_text() == "hand-placed\n"


def test_the_default_state_dir_moves_with_a_renamed_project(project: Path) -> None:
    collect(config_for(project))
    moved = project.parent / f"{project.name}-moved"
    shutil.move(project, moved)
    report = collect(config_for(moved))  # the marker names the old path: not a stranger
    assert report.new == [] and report.changed == []
    assert set(served_files(moved / "static_root")) == {"css/app.css", "js/app.js", "lib/lib.js"}
