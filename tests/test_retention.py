"""Dry runs plan the pruning the real run does: ``collect --clear -n`` lists exactly what
``collect --clear`` deletes; ``--force --clear`` never deletes a VCS directory; a run that
would publish nothing with ``--clear`` refuses instead of deleting the site."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

import corral.state
from corral import BuildError, check, clean, collect
from corral.fingerprint import corral_manifest
from corral.retention import _tail, kept_retained
from corral.serve import Responder

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


def _releases(project: Path, count: int, **options: object) -> list[str]:
    """``count`` releases of ``css/app.css``, each with other bytes; its hashed names."""
    names = []
    for n in range(count):
        write_tree(project / "assets", {"css/app.css": f".r{n} {{ color: red }}\n"})
        collect(config_for(project, "assets", hash=True, keep=None, **options))
        manifest = json.loads((project / "static_root/corral-manifest.json").read_bytes())
        names.append(manifest["files"]["css/app.css"]["hashed"])
    return names


def _served(root: Path, name: str) -> int:
    response = Responder(root, "/static/").respond("GET", "/static/" + name, {}.get)
    if response.file is not None:
        response.file.close()
    return response.code


@pytest.mark.parametrize("compress", [False, True])
def test_clean_rewrites_the_manifests_retained_releases(project: Path, compress: bool) -> None:
    root = project / "static_root"
    names = _releases(project, 4, compress=compress)
    before = json.loads((root / "corral-manifest.json").read_bytes())
    assert sorted(before["retained"]) == ["1", "2", "3"]
    assert [_served(root, name) for name in names] == [200] * 4

    config = config_for(project, "assets", hash=True, compress=compress)
    report = clean(config, keep=1)  # keeps release 4 and 3

    assert report.kept_releases == [3, 4]
    after = json.loads((root / "corral-manifest.json").read_bytes())
    assert sorted(after["retained"]) == ["3"]
    assert after["files"] == before["files"]
    assert after["retained"]["3"] == before["retained"]["3"]
    # a server started now neither lists nor serves the pruned releases' names
    assert [_served(root, name) for name in names] == [404, 404, 200, 200]
    assert names[0] not in Responder(root, "/static/").manifest.by_hashed
    # the rewritten manifest is corral's: checked clean, and a collect leaves it be
    assert [p.code for p in check(config, deep=True).problems] == []
    identity = (root / "corral-manifest.json").stat().st_ino
    collect(config_for(project, "assets", hash=True, keep=1, compress=compress))
    assert (root / "corral-manifest.json").stat().st_ino == identity

    clean(config, keep=0)
    assert "retained" not in json.loads((root / "corral-manifest.json").read_bytes())
    assert [_served(root, name) for name in names] == [404, 404, 404, 200]


def test_a_manifest_edited_by_hand_is_left_alone(project: Path) -> None:
    root = project / "static_root"
    _releases(project, 3)
    manifest = root / "corral-manifest.json"
    edited = manifest.read_bytes().replace(b'"version":1', b'"version":1 ')
    manifest.write_bytes(edited)
    clean(config_for(project, "assets", hash=True), keep=0)
    assert manifest.read_bytes() == edited


def test_kept_retained_drops_pruned_releases_files_and_variants() -> None:
    gz = {"path": "a.1.css.gz", "size": 3, "integrity": ""}
    br = {"path": "a.1.css.br", "size": 2, "integrity": ""}
    retained = {
        "1": {"a.css": {"hashed": "a.0.css"}},
        "2": {"a.css": {"hashed": "a.1.css", "encodings": {"gzip": gz, "br": br}},
              "b.css": {"hashed": "b.1.css"}},
    }  # fmt: skip
    left = kept_retained(retained, {"2", "3"}, {"a.1.css.br", "b.1.css"})
    assert left == {"2": {"a.css": {"hashed": "a.1.css", "encodings": {"gzip": gz}}}}
    assert kept_retained(retained, {"2"}, {"a.1.css", "b.1.css"}) == {}
    assert retained["2"]["a.css"]["encodings"] == {"gzip": gz, "br": br}  # not changed


class _Trickle(io.BytesIO):
    """A file that reads at most five bytes at a time (all that is left when asked to)."""

    def read(self, size: int | None = -1) -> bytes:
        return super().read(size if size is None or size < 0 else min(size, 5))


def test_a_manifests_files_end_where_its_release_begins_whatever_the_names() -> None:
    from corral.fingerprint.model import Fingerprint  # noqa: PLC0415

    odd = ['a,"release":"x.css', 'b"},"release":"{.css', "release", "c.css"]
    fps = {n: Fingerprint(n, n, False, "0" * 64, 1, "sha256-x", "m", (), "i") for n in odd}
    retained = {"2": {"d.css": {"hashed": "d.0123456789ab.css"}}}
    data = corral_manifest(fps, url="/s/", release=3, retained=retained)
    start, tail = _tail(_Trickle(data))
    assert data[:start] + tail == data
    assert json.loads(b"{" + tail[1:]) == {
        "release": "3",
        "retained": retained,
        "url": "/s/",
        "version": 1,
    }
    assert json.loads(data[:start] + b"}")["files"].keys() == set(odd)
    with pytest.raises(OSError):
        _tail(_Trickle(b'{"files":{}}'))
