"""collect's options for integrations: listed sources, --link, exact modes, manifest name."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from corral import BuildError, OwnershipError, collect
from corral.config import Config, DirectorySource, ListedSource

from .conftest import config_for, snapshot, state_path, write_tree


def _listed(project: Path, files: dict[str, str], label: str = "finder x") -> ListedSource:
    return ListedSource(label, tuple((logical, project / path) for logical, path in files.items()))


def test_listed_source_collects_exactly_its_files_in_priority_order(project: Path) -> None:
    write_tree(project / "elsewhere", {"one.js": "1\n", "two.js": "2\n", "unlisted.js": "3\n"})
    listed = _listed(project, {"js/app.js": "elsewhere/one.js", "extra/two.js": "elsewhere/two.js"})
    config = Config(
        root=project / "static_root",
        sources=(listed, DirectorySource(project / "assets")),
        project_root=project,
        hash=False,
        compress=False,
    )
    report = collect(config)
    root = project / "static_root"
    assert (root / "js/app.js").read_text() == "1\n"  # the listed source comes first
    assert (root / "extra/two.js").read_text() == "2\n"
    assert not (root / "unlisted.js").exists()
    [conflict] = report.conflicts
    assert conflict.logical == "js/app.js"
    assert conflict.winner.path == str(project / "elsewhere/one.js")


def test_listed_source_obeys_ignore_rules_on_names_and_directories(project: Path) -> None:
    write_tree(project / "x", {"a.js": "a\n", "vendor/b.js": "b\n", "c.js~": "c\n"})
    files = {"a.js": "x/a.js", "vendor/b.js": "x/vendor/b.js", "c.js~": "x/c.js~"}
    listed = _listed(project, files)
    config = Config(
        root=project / "static_root",
        sources=(listed,),
        ignore=("vendor",),
        project_root=project,
        hash=False,
        compress=False,
    )
    collect(config)
    assert sorted(p.name for p in (project / "static_root").iterdir()) == ["a.js"]


def test_listed_source_problems_name_the_file(project: Path) -> None:
    listed = _listed(project, {"gone.js": "nowhere/gone.js"})
    config = Config(
        root=project / "static_root",
        sources=(listed,),
        project_root=project,
        hash=False,
        compress=False,
    )
    with pytest.raises(BuildError) as caught:
        collect(config)
    [problem] = caught.value.problems
    assert problem.path == str(project / "nowhere/gone.js")
    assert problem.logical_path == "gone.js"


def test_listed_file_inside_the_root_is_refused(project: Path) -> None:
    write_tree(project / "static_root", {"inside.js": "x\n"})
    listed = _listed(project, {"inside.js": "static_root/inside.js"})
    config = Config(root=project / "static_root", sources=(listed,), project_root=project)
    with pytest.raises(OwnershipError, match=r"lists .*inside\.js, which is inside it"):
        collect(config)


def test_link_publishes_symlinks_to_sources_and_back_to_files(project: Path) -> None:
    root = project / "static_root"
    collect(config_for(project, link=True))
    app = root / "js/app.js"
    assert app.is_symlink() and os.readlink(app) == str(project / "assets/js/app.js")
    quiet = snapshot(root)
    report = collect(config_for(project, link=True))
    assert not report.state_written and snapshot(root) == quiet  # no change: nothing written
    report = collect(config_for(project))
    assert not app.is_symlink() and app.read_text() == "console.log(1)\n"
    assert sorted(report.repaired) == ["css/app.css", "js/app.js", "lib/lib.js"]
    collect(config_for(project, link=True))
    assert app.is_symlink()


def test_link_follows_a_new_winning_source_with_the_same_content(project: Path) -> None:
    write_tree(project / "first", {"lib/lib.js": "export const x = 1;\n"})
    root = project / "static_root"
    collect(config_for(project, "assets", "vendor", link=True))
    collect(config_for(project, "first", "assets", "vendor", link=True))
    assert os.readlink(root / "lib/lib.js") == str(project / "first/lib/lib.js")


def test_link_keeps_hashed_copies_as_files(project: Path) -> None:
    root = project / "static_root"
    collect(config_for(project, link=True, hash=True))
    manifest = json.loads((root / "staticfiles.json").read_text())["paths"]
    hashed = root / manifest["js/app.js"]
    assert (root / "js/app.js").is_symlink()
    assert hashed.is_file() and not hashed.is_symlink()


def test_exact_file_and_directory_modes_whatever_the_umask(project: Path) -> None:
    old = os.umask(0o077)
    try:
        collect(config_for(project, hash=True, file_mode=0o640, dir_mode=0o750))
    finally:
        os.umask(old)
    root = project / "static_root"
    manifest = json.loads((root / "staticfiles.json").read_text())["paths"]
    for name in ("css/app.css", manifest["css/app.css"], "staticfiles.json"):
        assert (root / name).stat().st_mode & 0o777 == 0o640, name
    for directory in ("css", "js", "lib"):
        assert (root / directory).stat().st_mode & 0o777 == 0o750, directory


def test_manifest_name_moves_djangos_manifest(project: Path) -> None:
    root = project / "static_root"
    collect(config_for(project, hash=True, manifest_name="assets.json"))
    assert (root / "assets.json").is_file() and not (root / "staticfiles.json").exists()
    report = collect(config_for(project, hash=True, manifest_name="assets.json"))
    assert not report.state_written  # the name is part of what a no-change run compares
    collect(config_for(project, hash=True))
    assert (root / "staticfiles.json").is_file()


def test_a_manifest_inside_a_directory_is_still_published_last(project: Path) -> None:
    # A first run moves whole top-level directories into place; a manifest inside one
    # ("css/") is taken out of the tree first and renamed after everything else.
    renamed: list[str] = []

    def audit(event: str, args: tuple[object, ...]) -> None:
        if event == "os.rename" and str(args[1]).startswith(str(project / "static_root")):
            renamed.append(Path(str(args[1])).relative_to(project / "static_root").as_posix())

    sys.addaudithook(audit)
    config = config_for(project, hash=True, manifest_name="css/manifest.json")
    collect(config)
    root = project / "static_root"
    published = [p for p in renamed if not p.startswith(".corral")]
    assert published[-2:] == ["css/manifest.json", "corral-manifest.json"]
    assert set(published[:-2]) == {"css", "js", "lib"}  # one rename per directory
    paths = json.loads((root / "css/manifest.json").read_text())["paths"]
    assert (root / paths["css/app.css"]).is_file()
    assert not list((state_path(root) / "tmp").iterdir())  # no staging tree left behind
    renamed.clear()
    assert not collect(config).state_written


def test_a_source_file_named_like_the_manifest_is_refused(project: Path) -> None:
    write_tree(project / "assets", {"assets.json": "{}"})
    with pytest.raises(BuildError, match="where corral writes its manifest"):
        collect(config_for(project, hash=True, manifest_name="assets.json"))
