"""The state's two files: ``state.json`` every run reads, the derived file (fingerprints
and variants) only the runs that change something read; generations, the old format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import corral.state
from corral import collect
from corral.lookup import find
from corral.state import StateDir

from .conftest import config_for, opened_files, served_files, snapshot, state_path, write_tree

_CSS = "".join(f".rule-{i} {{ background: url(../img/dot.png) }}\n" for i in range(40))


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A small site with a reference to rewrite and files big enough to compress."""
    write_tree(
        tmp_path / "assets",
        {
            "css/site.css": _CSS,
            "img/dot.png": b"\x89PNG\r\n\x1a\n" + bytes(600),
            "js/app.js": "console.log('app');\n" * 40,
        },
    )
    return tmp_path


def _config(site: Path) -> corral.Config:
    return config_for(site, "assets", hash=True, compress=True)


def _derived_files(root: Path) -> list[str]:
    return sorted(p.name for p in state_path(root).glob("derived.*.json"))


def test_no_change_run_never_opens_the_derived_file(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(corral.state, "RACY_NS", 0)
    config = _config(site)
    collect(config)
    root = site / "static_root"
    assert _derived_files(root) == ["derived.1.json"]
    before = snapshot(root)
    with opened_files() as opened:
        report = collect(config)
    assert not report.published and not report.state_written
    assert [p for p in opened if "derived." in p] == []
    assert snapshot(root) == before

    (site / "assets/js/app.js").write_text("console.log('changed');\n" * 40)
    with opened_files() as opened:
        report = collect(config)
    assert report.published and report.changed == ["js/app.js"]
    assert str(state_path(root) / "derived.1.json") in opened  # last run's fingerprints reused
    assert _derived_files(root) == ["derived.2.json"]  # the old generation is gone


def test_run_that_only_learns_to_trust_files_keeps_the_derived_file(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(corral.state, "RACY_NS", 0)
    config = _config(site)
    collect(config)
    state_dir = StateDir(site / "static_root")
    state = state_dir.load()
    state.scanned_ns = 0  # as if every source changed too close to the last run to trust
    state_dir.save(state)
    derived = state_dir.derived_path(1)
    assert derived.is_file()  # saving an untouched state wrote no new generation
    before = derived.stat()

    report = collect(config)  # reads every file, finds them unchanged, can now trust them
    assert report.state_written and not report.published
    assert _derived_files(site / "static_root") == ["derived.1.json"]
    after = derived.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert state_dir.load().scanned_ns > 0


def test_lost_derived_file_costs_a_slower_run_not_a_wrong_one(site: Path, tmp_path: Path) -> None:
    config = _config(site)
    collect(config)
    root = site / "static_root"
    (state_path(root) / "derived.1.json").unlink()
    (site / "assets/img/dot.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(700))
    report = collect(config)
    assert report.published

    fresh = config_for(site, "assets", hash=True, compress=True, root=tmp_path / "fresh")
    collect(fresh)
    ours, theirs = served_files(root), served_files(tmp_path / "fresh")
    assert ours.keys() >= theirs.keys()
    for name, content in theirs.items():
        if name == "corral-manifest.json":  # names its release: 2 here, 1 there
            assert json.loads(ours[name])["files"] == json.loads(content)["files"]
        else:
            assert ours[name] == content, name


def test_derived_file_of_a_killed_run_is_replaced(site: Path) -> None:
    # A run killed after writing the next generation but before state.json named it.
    config = _config(site)
    collect(config)
    root = site / "static_root"
    (state_path(root) / "derived.2.json").write_text('{"fingerprints": {"torn')
    assert not collect(config).published  # generation 1 is still the one state.json names

    (site / "assets/js/app.js").write_text("console.log('changed');\n" * 40)
    assert collect(config).published
    assert _derived_files(root) == ["derived.2.json"]
    json.loads((state_path(root) / "derived.2.json").read_text())  # whole, not the torn one


def test_state_of_the_single_file_format_is_still_trusted(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(corral.state, "RACY_NS", 0)
    config = _config(site)
    collect(config)
    corral_dir = state_path(site / "static_root")
    data = json.loads((corral_dir / "state.json").read_text())
    derived = json.loads((corral_dir / "derived.1.json").read_text())
    del data["derived"]
    data.update(format=2, **derived)  # how corral 0.1.0.dev kept it before the split
    (corral_dir / "state.json").write_text(json.dumps(data))
    (corral_dir / "derived.1.json").unlink()

    with opened_files() as opened:
        report = collect(config)
    assert not report.published
    assert [p for p in opened if p.startswith(str(site / "assets"))] == []  # all trusted

    (site / "assets/js/app.js").write_text("console.log('changed');\n" * 40)
    report = collect(config)
    assert report.published and report.changed == ["js/app.js"]
    assert json.loads((corral_dir / "state.json").read_text())["format"] == corral.state.FORMAT
    assert _derived_files(site / "static_root") == ["derived.1.json"]


def test_find_reads_again_when_a_run_replaced_the_derived_file_meanwhile(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(site)
    collect(config)
    state_dir = StateDir(site / "static_root")
    real_load = StateDir.load
    stale = real_load(state_dir)  # names generation 1 ...
    (site / "assets/js/app.js").write_text("console.log('changed');\n" * 40)
    collect(config)  # ... which this run replaced with generation 2
    assert not state_dir.derived_path(1).exists()
    loads = iter([stale])
    monkeypatch.setattr(StateDir, "load", lambda self: next(loads, None) or real_load(self))

    found = find(config, "js/app.js")
    assert found.hashed is not None
    assert (
        found.hashed
        == json.loads((site / "static_root/staticfiles.json").read_text())["paths"]["js/app.js"]
    )


def test_pruning_after_a_publish_does_not_read_back_the_new_release(site: Path) -> None:
    config = config_for(site, "assets", keep=0)
    collect(config)
    (site / "assets/js/app.js").write_text("console.log('two');\n")
    with opened_files() as opened:
        report = collect(config)
    releases = state_path(site / "static_root") / "releases"
    assert report.release == 2 and report.pruned == []  # the original of app.js stays
    assert [p for p in opened if p.startswith(f"{releases}/")] == []
    (site / "assets/js/app.js").unlink()
    report = collect(config)
    assert report.pruned == ["js/app.js"]  # it was still in release 2, but not in 3
    assert sorted(p.name for p in releases.iterdir()) == ["00000003.json"]


def test_a_release_record_reads_back_the_same_from_disk_and_from_memory(site: Path) -> None:
    collect(config_for(site, "assets"))
    state_dir = StateDir(site / "static_root")
    on_disk = state_dir.load_release(1)
    state_dir.save_release(on_disk)
    assert state_dir.load_release(1) == on_disk == StateDir(site / "static_root").load_release(1)
    state_dir.delete_release(1)
    with pytest.raises(corral.TargetError):
        state_dir.load_release(1)
