"""Dry runs plan the pruning the real run does: ``collect --clear -n`` lists exactly what
``collect --clear`` deletes; ``--force --clear`` never deletes a VCS directory; a run that
would publish nothing with ``--clear`` refuses instead of deleting the site."""

from __future__ import annotations

from pathlib import Path

import pytest

import corral.state
from corral import BuildError, collect

from .conftest import config_for, served_files, write_tree

CSS = "".join(f".r{n} {{ background: url(../img/a.png) }}\n" for n in range(60))


@pytest.fixture(autouse=True)
def _trust(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(corral.state, "RACY_NS", 0)


def history(project: Path, **options: object) -> None:
    """Three releases: files added, changed and removed along the way."""
    write_tree(project / "assets", {"css/app.css": CSS, "img/a.png": b"png1", "js/x.js": "1"})
    collect(config_for(project, "assets", **options))
    write_tree(project / "assets", {"img/a.png": b"png2", "js/y.js": "2"})
    collect(config_for(project, "assets", **options))
    (project / "assets/js/x.js").unlink()
    write_tree(project / "assets", {"css/app.css": CSS + "/* 3 */\n"})
    collect(config_for(project, "assets", **options))


@pytest.mark.parametrize(
    "options",
    [{"hash": True, "compress": True}, {"hash": True, "compress": False}, {}],
)
@pytest.mark.parametrize("change", [True, False])
def test_a_dry_run_with_clear_lists_exactly_what_the_real_run_prunes(
    project: Path, options: dict[str, bool], change: bool
) -> None:
    history(project, **options)
    if change:
        write_tree(project / "assets", {"img/a.png": b"png3"})
    config = config_for(project, "assets", **options)
    plan = collect(config, dry_run=True, clear=True)
    before = set(served_files(project / "static_root"))
    real = collect(config, clear=True)
    after = set(served_files(project / "static_root"))
    assert sorted(plan.pruned) == sorted(real.pruned) == sorted(before - after)
    manifests = {"staticfiles.json", "corral-manifest.json"} if options.get("hash") else set()
    assert manifests <= after  # the live manifests and hashed copies are never "to prune"


@pytest.mark.parametrize("keep", [0, 1])
def test_a_dry_run_without_clear_lists_what_keep_prunes(project: Path, keep: int) -> None:
    history(project, hash=True, keep=keep)
    write_tree(project / "assets", {"img/a.png": b"png4"})
    config = config_for(project, "assets", hash=True, keep=keep)
    plan = collect(config, dry_run=True)
    assert sorted(plan.pruned) == sorted(collect(config).pruned)


@pytest.mark.parametrize("vcs", [".git", ".hg", ".svn"])
def test_force_clear_never_deletes_a_vcs_directory_and_its_dry_run_is_exact(
    project: Path, vcs: str
) -> None:
    root = project / "static_root"
    write_tree(root, {f"{vcs}/config": "[core]", f"{vcs}/objects/ab/cd": "x", "old.html": "o"})
    write_tree(project / "src", {"a.css": "a{}"})
    config = config_for(project, "src")
    plan = collect(config, dry_run=True, clear=True, force=True)
    assert plan.pruned == ["old.html"]
    real = collect(config, clear=True, force=True)
    assert real.pruned == ["old.html"]
    assert (root / f"{vcs}/config").read_text() == "[core]"
    assert (root / f"{vcs}/objects/ab/cd").is_file()
    assert set(served_files(root)) == {"a.css", f"{vcs}/config", f"{vcs}/objects/ab/cd"}


def test_clear_with_no_source_file_refuses_instead_of_deleting_the_site(project: Path) -> None:
    write_tree(project / "src", {"a.css": "a{}"})
    collect(config_for(project, "src"))
    (project / "src/a.css").unlink()  # e.g. a build step that produced nothing
    for dry_run in (True, False):
        with pytest.raises(BuildError) as caught:
            collect(config_for(project, "src"), clear=True, dry_run=dry_run)
        assert [p.code for p in caught.value.problems] == ["empty-release"]
    assert served_files(project / "static_root") == {"a.css": b"a{}"}
