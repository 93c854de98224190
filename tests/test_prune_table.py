"""Pruning after a publish by the state's ``retired`` table, without reading release
records: at every prune of a long random history it must pick exactly the files the
records pick, and the table must be rebuilt whenever it can't be trusted."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

import corral.build.prune
import corral.state
from corral import clean, collect
from corral.state import StateDir

from .conftest import config_for, served_files, state_path, write_tree


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Compare every answer of the table with the records' answer; record which was used."""
    used: list[str] = []
    by_table = corral.build.prune.doomed_from_retired

    def both(
        state_dir: StateDir, state: corral.state.State, kept: list[int], newer: list[int]
    ) -> list[str] | None:
        fast = by_table(state_dir, state, kept, newer)
        if fast is None:
            used.append("records")
            return None
        listed: set[str] = set()
        for release_id in kept:
            listed.update(state_dir.load_release(release_id).files)
        assert fast == sorted(p for p in state.targets if p not in listed)
        used.append("table")
        return fast

    monkeypatch.setattr(corral.build.prune, "doomed_from_retired", both)
    monkeypatch.setattr(corral.state, "RACY_NS", 0)
    return used


def _kept_releases_are_whole(root: Path, keep: int) -> None:
    """Every file a kept release lists is in place with its content."""
    state_dir = StateDir(root)
    ids = state_dir.release_ids()
    served = served_files(root)
    for release_id in ids[-(keep + 1) :]:
        for relpath in state_dir.load_release(release_id).files:
            assert relpath in served, (release_id, relpath)


@pytest.mark.parametrize("seed", range(6))
def test_a_long_random_history_prunes_as_the_records_say(
    tmp_path: Path, checked: list[str], seed: int
) -> None:
    rng = random.Random(seed)
    names = [f"css/{i}.css" for i in range(6)] + [f"img/{i}.png" for i in range(6)]
    tree: dict[str, str | bytes] = {}
    for name in rng.sample(names, 8):
        css = f"a{{b:url(../img/0.png)}} {name}"
        tree[name] = f"v0 {name}" if name.endswith(".png") else css
    write_tree(tmp_path / "assets", {"img/0.png": b"\x89PNG 0", **tree})
    root = tmp_path / "static_root"
    for step in range(40):
        action = rng.random()
        assets = tmp_path / "assets"
        present = sorted(p.relative_to(assets).as_posix() for p in assets.rglob("*.*"))
        if action < 0.5 and present:  # edit a file
            victim = rng.choice(present)
            (tmp_path / "assets" / victim).write_bytes(
                (tmp_path / "assets" / victim).read_bytes() + f" {step}".encode()
            )
        elif action < 0.7:  # add one
            name = rng.choice(names)
            write_tree(tmp_path / "assets", {name: f"new {step} {name}"})
        elif action < 0.8 and len(present) > 2:  # remove one (never the referenced image)
            victim = rng.choice([p for p in present if p != "img/0.png"])
            (tmp_path / "assets" / victim).unlink()
        keep = rng.choice([0, 1, 2, 3])
        config = config_for(tmp_path, "assets", hash=rng.random() < 0.8, keep=keep)
        if rng.random() < 0.1:
            clean(config, keep=rng.choice([0, 1]))
        else:
            collect(config, clear=rng.random() < 0.1)
        _kept_releases_are_whole(root, 0)
        owned = set(json.loads((state_path(root) / "state.json").read_bytes())["targets"])
        assert set(served_files(root)) <= owned | {"staticfiles.json", "corral-manifest.json"}
    # The table answered most prunes; the records the rest (first prune, clean, ...).
    assert checked.count("table") > 2 * checked.count("records") > 0, checked


def test_a_killed_runs_files_make_the_table_unknown(tmp_path: Path, checked: list[str]) -> None:
    write_tree(tmp_path / "assets", {"css/a.css": "a{}", "css/b.css": "b{}"})
    config = config_for(tmp_path, "assets", keep=0)
    root = tmp_path / "static_root"
    collect(config)  # the first prune reads the records and builds the table
    (tmp_path / "assets/css/a.css").write_text("a{b:c}")
    collect(config)
    assert checked == ["records", "table"]
    # A run killed mid-publish placed a file no release lists, and said so in pending.json.
    write_tree(root, {"css/orphan.css": "o{}"})
    StateDir(root).save_pending({"css/orphan.css": "0" * 64})
    (tmp_path / "assets/css/a.css").write_text("a{b:e}")
    collect(config)
    assert checked[-1] == "records"  # the table could not know the orphan
    assert "css/orphan.css" not in served_files(root)
    (tmp_path / "assets/css/a.css").write_text("a{b:f}")
    collect(config)
    assert checked[-1] == "table"  # rebuilt by that prune


def test_a_state_without_the_table_still_prunes_and_then_has_it(
    tmp_path: Path, checked: list[str]
) -> None:
    write_tree(tmp_path / "assets", {"css/a.css": "a{}"})
    config = config_for(tmp_path, "assets", keep=0)
    root = tmp_path / "static_root"
    collect(config)
    (tmp_path / "assets/css/a.css").write_text("a{b:c}")
    collect(config)
    state_file = state_path(root) / "state.json"
    data = json.loads(state_file.read_bytes())
    assert data["retired"] == {}  # every target is in the current release
    del data["retired"]  # as a state written before the table existed
    state_file.write_text(json.dumps(data))
    (tmp_path / "assets/css/a.css").write_text("a{b:d}")
    collect(config)
    assert checked[-1] == "records"
    (tmp_path / "assets/css/a.css").write_text("a{b:e}")
    collect(config)
    assert checked[-1] == "table"
    assert sorted(served_files(root)) == ["css/a.css"]
