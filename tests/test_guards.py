"""Nothing outside the target is ever deleted, whatever links are planted in the target,
in corral's own directories or in its state: a matrix of symbolic links and paths."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from corral import clean, collect
from corral.guards import ChangedWhileRead, read_exactly, remove_tree
from corral.state import StateDir

from .conftest import config_for, served_files, state_path, write_tree


def outside(tmp_path: Path) -> dict[str, bytes]:
    """Files outside both the sources and the target that nothing may touch."""
    write_tree(tmp_path / "precious", {"a.png": b"1", "img/a.png": b"2", "victim.txt": b"3"})
    return snapshot_of(tmp_path / "precious")


def snapshot_of(directory: Path) -> dict[str, bytes]:
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def site(tmp_path: Path) -> Path:
    write_tree(tmp_path / "assets", {"img/a.png": b"png", "css/app.css": b"a{}"})
    collect(config_for(tmp_path, "assets"))
    return tmp_path


def test_a_linked_directory_in_the_root_is_never_pruned_through(site: Path) -> None:
    before = outside(site)
    root = site / "static_root"
    (root / "img/a.png").unlink()
    (root / "img").rmdir()
    (root / "img").symlink_to(site / "precious")  # now root/img/a.png is precious/a.png
    (site / "assets/img/a.png").unlink()
    collect(config_for(site, "assets"), clear=True, force=True)
    clean(config_for(site, "assets"), keep=0, force=True)
    assert snapshot_of(site / "precious") == before
    assert not (root / "img").exists()  # the link itself went (with --force)
    assert (site / "precious").is_dir()


@pytest.mark.parametrize("planted", ["../precious/victim.txt", "/PRECIOUS/victim.txt"])
def test_a_path_planted_in_the_state_never_leaves_the_root(site: Path, planted: str) -> None:
    before = outside(site)
    planted = planted.replace("/PRECIOUS", str(site / "precious"))
    state_file = state_path(site / "static_root") / "state.json"
    state = json.loads(state_file.read_bytes())
    state["targets"][planted] = ["0" * 64, 1, 1, 1]
    state["retired"] = None
    state_file.write_text(json.dumps(state))
    record = StateDir(site / "static_root").releases_dir / "00000001.json"
    release = json.loads(record.read_bytes())
    release["files"][planted] = "0" * 64
    record.write_text(json.dumps(release))
    (site / "assets/css/app.css").write_text("b{}")
    collect(config_for(site, "assets"), clear=True)
    clean(config_for(site, "assets"), keep=0, force=True)
    assert snapshot_of(site / "precious") == before


@pytest.mark.parametrize("which", ["tmp", "releases"])
def test_a_link_in_place_of_corrals_own_directory_is_never_followed(site: Path, which: str) -> None:
    before = outside(site)
    home = state_path(site / "static_root")
    remove_tree(home / which) if which == "tmp" else None
    if which == "releases":
        os.rename(home / "releases", site / "releases-kept")
    (home / which).symlink_to(site / "precious")
    (site / "assets/css/app.css").write_text("b{}")
    collect(config_for(site, "assets"))
    assert snapshot_of(site / "precious") == before
    assert not (home / which).is_symlink()


def test_a_link_in_place_of_the_transient_staging_directory_is_never_followed(
    site: Path,
) -> None:
    before = outside(site)
    root = site / "static_root"
    (root / ".corral-staging").symlink_to(site / "precious")  # left by a killed run?
    (site / "assets/css/app.css").write_text("b{}")
    collect(config_for(site, "assets"))
    assert snapshot_of(site / "precious") == before
    assert not os.path.lexists(root / ".corral-staging")
    assert served_files(root)["css/app.css"] == b"b{}"


def test_remove_tree_removes_links_not_their_targets(tmp_path: Path) -> None:
    before = outside(tmp_path)
    write_tree(tmp_path / "doomed", {"x/y.txt": "y"})
    (tmp_path / "doomed/x/link").symlink_to(tmp_path / "precious")
    (tmp_path / "doomed/file-link").symlink_to(tmp_path / "precious/victim.txt")
    remove_tree(tmp_path / "doomed")
    assert not (tmp_path / "doomed").exists()
    (tmp_path / "top-link").symlink_to(tmp_path / "precious")
    remove_tree(tmp_path / "top-link")
    assert not os.path.lexists(tmp_path / "top-link")
    assert snapshot_of(tmp_path / "precious") == before


def test_read_exactly_refuses_a_file_that_changed_size_since_the_scan(tmp_path: Path) -> None:
    path = tmp_path / "a.css"
    path.write_bytes(b"a{}")
    assert read_exactly(str(path), 3, "a.css") == b"a{}"
    with pytest.raises(ChangedWhileRead) as caught:
        read_exactly(str(path), 2, "a.css")
    assert (caught.value.scanned, caught.value.read, caught.value.logical) == (2, 3, "a.css")
    assert caught.value.problem().code == "changed-during-build"
