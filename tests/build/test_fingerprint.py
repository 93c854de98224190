"""The fingerprint stage inside a real collect: hashed copies, rewrites, manifests."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Collection
from pathlib import Path

import pytest

import corral.fingerprint
import corral.state
from corral import BuildError, clean, collect, find
from corral.build.manifests import CORRAL_MANIFEST, DJANGO_MANIFEST

from ..conftest import config_for, opened_files, served_files, snapshot, state_path, write_tree


@pytest.fixture
def site(tmp_path: Path) -> Path:
    write_tree(
        tmp_path / "assets",
        {
            "css/base.css": '@import "theme.css";\nbody { background: url(../img/bg.png) }\n',
            "css/theme.css": ".logo { background: url('../img/logo.svg#icon') }\n",
            "img/bg.png": b"\x89PNG fake",
            "img/logo.svg": "<svg/>",
            "js/app.js": 'import { x } from "./lib.js";\nconsole.log(x);\n',
            "js/lib.js": "export const x = 1;\n",
        },
    )
    return tmp_path


def hashed(root: Path) -> dict[str, str]:
    return json.loads((root / DJANGO_MANIFEST).read_bytes())["paths"]


def test_collect_writes_originals_hashed_copies_and_manifests(site: Path) -> None:
    report = collect(config_for(site, "assets", hash=True))
    root = site / "static_root"
    paths = hashed(root)
    assert sorted(paths) == [
        "css/base.css",
        "css/theme.css",
        "img/bg.png",
        "img/logo.svg",
        "js/app.js",
        "js/lib.js",
    ]
    files = served_files(root)
    # originals are collected unchanged, as Django does
    assert files["css/base.css"] == (site / "assets/css/base.css").read_bytes()
    base = files[paths["css/base.css"]].decode()
    theme_name = paths["css/theme.css"].rsplit("/", 1)[1]
    assert f'@import url("{theme_name}");' in base
    assert f'url("../img/{paths["img/bg.png"].rsplit("/", 1)[1]}")' in base  # Django quotes
    assert "#icon" in files[paths["css/theme.css"]].decode()
    assert f'from "./{paths["js/lib.js"].rsplit("/", 1)[1]}"' in files[paths["js/app.js"]].decode()
    # names are Django's: md5 of the final bytes, first 12 hex digits
    for logical, name in paths.items():
        digest = hashlib.md5(files[name]).hexdigest()[:12]
        assert name == logical.rsplit(".", 1)[0] + f".{digest}." + logical.rsplit(".", 1)[1]
    manifest = json.loads(files[CORRAL_MANIFEST])
    entry = manifest["files"]["css/base.css"]
    expected = (
        "sha256-" + base64.b64encode(hashlib.sha256(files[entry["hashed"]]).digest()).decode()
    )
    assert entry["integrity"] == expected and entry["size"] == len(files[entry["hashed"]])
    assert manifest["release"] == "1" and report.release == 1
    assert set(report.fingerprinted) == set(paths)
    assert report.rewrites and report.published


def test_unrewritten_hashed_copies_are_hard_links_of_the_original(site: Path) -> None:
    collect(config_for(site, "assets", hash=True))
    root = site / "static_root"
    png = hashed(root)["img/bg.png"]
    assert (root / png).stat().st_ino == (root / "img/bg.png").stat().st_ino


def test_no_change_rerun_reads_and_writes_nothing(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(corral.state, "RACY_NS", 0)
    config = config_for(site, "assets", hash=True)
    collect(config)
    before = snapshot(site / "static_root")
    with opened_files() as opened:
        report = collect(config)
    assert [p for p in opened if p.startswith(str(site / "assets"))] == []
    assert snapshot(site / "static_root") == before
    assert not report.published and report.fingerprinted == []


def test_changed_image_renames_css_and_its_importer_only(site: Path) -> None:
    config = config_for(site, "assets", hash=True, keep=None)
    collect(config)
    root = site / "static_root"
    first = hashed(root)
    (site / "assets/img/logo.svg").write_text("<svg id='new'/>")
    report = collect(config)
    second = hashed(root)
    changed = sorted(k for k in first if first[k] != second[k])
    assert changed == ["css/base.css", "css/theme.css", "img/logo.svg"]
    assert sorted(report.fingerprinted) == changed
    assert report.release == 2
    # the previous release's files and manifest stay until pruned
    assert (root / first["css/base.css"]).exists()
    kept = json.loads((state_path(root) / "releases/00000001.manifest.json").read_bytes())
    assert kept["files"]["css/base.css"]["hashed"] == first["css/base.css"]
    pruned = clean(config, keep=0).pruned
    assert sorted(pruned) == sorted(first[k] for k in changed)
    assert not (state_path(root) / "releases/00000001.manifest.json").exists()


def test_missing_reference_fails_the_run_and_names_the_setting(site: Path) -> None:
    config = config_for(site, "assets", hash=True)
    collect(config)
    before = snapshot(site / "static_root", scratch=False)
    (site / "assets/css/theme.css").write_text(".x { background: url(../img/nope.png) }\n")
    with pytest.raises(BuildError) as info:
        collect(config)
    [problem] = info.value.problems
    assert problem.code == "missing-reference"
    assert problem.logical_path == "css/theme.css" or "css/theme.css" in (problem.path or "")
    assert problem.line == 1
    assert "img/nope.png" in problem.message
    assert "accept_missing" in (problem.hint or "")
    assert snapshot(site / "static_root", scratch=False) == before
    accepted = config_for(site, "assets", hash=True, accept_missing=("img/nope.png",))
    assert collect(accepted).published


def test_deleted_hashed_file_is_restored_without_a_new_release(site: Path) -> None:
    config = config_for(site, "assets", hash=True)
    collect(config)
    root = site / "static_root"
    name = hashed(root)["css/base.css"]
    content = (root / name).read_bytes()
    (root / name).unlink()
    (root / DJANGO_MANIFEST).unlink()
    report = collect(config)
    assert (root / name).read_bytes() == content
    assert (root / DJANGO_MANIFEST).exists()
    assert not report.published and report.release == 1


def test_turning_hashing_off_publishes_a_release_without_hashed_files(site: Path) -> None:
    root = site / "static_root"
    collect(config_for(site, "assets", hash=True, keep=None))
    report = collect(config_for(site, "assets", hash=False, keep=None))
    assert report.published and report.release == 2
    clean(config_for(site, "assets", hash=False), keep=0)
    assert sorted(served_files(root)) == sorted(
        ["css/base.css", "css/theme.css", "img/bg.png", "img/logo.svg", "js/app.js", "js/lib.js"]
    )


def test_a_source_file_where_a_manifest_goes_is_a_problem(site: Path) -> None:
    write_tree(site / "assets", {"staticfiles.json": "{}"})
    with pytest.raises(BuildError) as info:
        collect(config_for(site, "assets", hash=True))
    assert [p.code for p in info.value.problems] == ["reserved-path"]
    assert collect(config_for(site, "assets", hash=False)).published


def test_dry_run_fingerprints_without_writing(site: Path) -> None:
    report = collect(config_for(site, "assets", hash=True), dry_run=True)
    assert len(report.fingerprinted) == 6
    assert not (site / "static_root").exists()
    assert os.path.exists(site / "assets/css/base.css")


def test_find_shows_the_hashed_name(site: Path) -> None:
    collect(config_for(site, "assets", hash=True))
    result = find(config_for(site, "assets", hash=True), "/static/css/base.css")
    assert result.hashed == hashed(site / "static_root")["css/base.css"]


def test_changing_an_option_refingerprints_without_any_source_change(site: Path) -> None:
    collect(config_for(site, "assets", hash=True))
    root = site / "static_root"
    before = hashed(root)
    report = collect(config_for(site, "assets", hash=True, modules=False))
    after = hashed(root)
    assert report.published
    # without module rewriting app.js keeps "./lib.js": its bytes, and so its name, change
    assert after["js/app.js"] != before["js/app.js"]
    assert b'from "./lib.js"' in (root / after["js/app.js"]).read_bytes()
    again = collect(config_for(site, "assets", hash=True, modules=False))
    assert not again.published and again.fingerprinted == []


@pytest.mark.parametrize("algorithm", ["sha384", "sha512"])
def test_the_integrity_option_picks_the_sri_hash_and_a_change_of_it_refingerprints(
    site: Path, algorithm: str
) -> None:
    def sris(root: Path) -> dict[str, tuple[str, bytes]]:
        manifest = json.loads((root / CORRAL_MANIFEST).read_bytes())
        return {
            logical: (entry["integrity"], (root / entry["hashed"]).read_bytes())
            for logical, entry in manifest["files"].items()
        }

    def sri(name: str, data: bytes) -> str:
        return f"{name}-" + base64.b64encode(hashlib.new(name, data).digest()).decode()

    root = site / "static_root"
    collect(config_for(site, "assets", hash=True))
    assert all(value == sri("sha256", data) for value, data in sris(root).values())
    # Nothing else changed: every file (even those the state vouches for) gets the new one.
    report = collect(config_for(site, "assets", hash=True, integrity=algorithm))
    assert report.published
    assert all(value == sri(algorithm, data) for value, data in sris(root).values())
    again = collect(config_for(site, "assets", hash=True, integrity=algorithm))
    assert not again.published and again.fingerprinted == []
    collect(config_for(site, "assets", hash=True))
    assert all(value == sri("sha256", data) for value, data in sris(root).values())


def test_a_run_vouches_only_for_files_the_state_fingerprinted_with_the_same_setup(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vouched: list[set[str]] = []
    real = corral.fingerprint.fingerprint

    def spy(*args: object, unchanged: Collection[str] = (), **kwargs: object) -> object:
        vouched.append(set(unchanged))
        return real(*args, unchanged=unchanged, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(corral.fingerprint, "fingerprint", spy)
    root = site / "static_root"
    collect(config_for(site, "assets", hash=True))
    (site / "assets/img/logo.svg").write_text("<svg id='2'/>")
    collect(config_for(site, "assets", hash=True))
    others = {"css/base.css", "css/theme.css", "img/bg.png", "js/app.js", "js/lib.js"}
    assert vouched[-2:] == [set(), others]
    # Other options: nothing is vouched for.
    (site / "assets/img/logo.svg").write_text("<svg id='3'/>")
    collect(config_for(site, "assets", hash=True, modules=False))
    assert vouched[-1] == set()
    # Another set of files: likewise.
    write_tree(site / "assets", {"img/new.png": b"\x89PNG new"})
    collect(config_for(site, "assets", hash=True, modules=False))
    assert vouched[-1] == set()
    # A run without fingerprints in between (which records sources but no fingerprints),
    # then an edit and a fingerprinting run again: it vouches for nothing, and its
    # output is what a first run makes.
    collect(config_for(site, "assets", hash=False))
    (site / "assets/css/theme.css").write_text(".logo { background: url('../img/new.png') }\n")
    collect(config_for(site, "assets", hash=True))
    assert vouched[-1] == set()
    fresh = site / "fresh_root"
    collect(config_for(site, "assets", hash=True, root=fresh))
    assert hashed(root) == hashed(fresh)
    for logical, name in hashed(fresh).items():
        assert (root / name).read_bytes() == (fresh / name).read_bytes(), logical


def test_a_changed_run_makes_facts_only_for_the_files_it_processes(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[str] = []
    real = corral.fingerprint.FileFacts

    def counting(logical: str, *args: object) -> object:
        made.append(logical)
        return real(logical, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(corral.fingerprint, "FileFacts", counting)
    collect(config_for(site, "assets", hash=True))
    assert sorted(made) == sorted(hashed(site / "static_root"))  # a first run: every file
    made.clear()
    (site / "assets/img/logo.svg").write_text("<svg id='2'/>")
    report = collect(config_for(site, "assets", hash=True))
    processed = ["css/base.css", "css/theme.css", "img/logo.svg"]
    assert sorted(made) == sorted(report.fingerprinted) == processed


def test_the_stage_returns_an_immutable_outcome_and_manifests_make_a_new_one() -> None:
    from corral.build.fingerprint import Hashed  # noqa: PLC0415
    from corral.build.manifests import Manifests  # noqa: PLC0415

    hashed = Hashed({}, {"a.0123456789ab.css": "d1"}, options_key="k")
    with pytest.raises(AttributeError):
        hashed.changed = True  # type: ignore[misc]
    made = hashed.with_manifests(Manifests({"staticfiles.json": "d2"}, [], "draft"))
    assert made.files == {"a.0123456789ab.css": "d1", "staticfiles.json": "d2"}
    assert (made.manifest, made.manifests, made.options_key) == ("draft", (), "k")
    assert hashed.files == {"a.0123456789ab.css": "d1"} and hashed.manifest is None
