"""collect / clean through the Python API: incremental, atomic, owned, pruned."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import corral.state
from corral import BuildError, OwnershipError, clean, collect
from corral.state import StateDir

from .conftest import config_for, opened_files, served_files, snapshot, state_path, write_tree


def test_first_run_collects_every_file_first_source_winning(project: Path) -> None:
    report = collect(config_for(project))
    assert served_files(project / "static_root") == {
        "css/app.css": b"body { color: red }\n",
        "js/app.js": b"console.log(1)\n",
        "lib/lib.js": b"export const x = 1;\n",
    }
    assert report.new == ["css/app.css", "js/app.js", "lib/lib.js"]
    assert report.release == 1 and report.published
    assert [c.logical for c in report.conflicts] == ["css/app.css"]
    assert (state_path(project / "static_root") / "owner.json").is_file()
    assert set(report.timings) >= {"scan", "plan", "stage", "publish", "record"}


def test_no_change_rerun_reads_no_source_and_writes_nothing(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sources were written moments ago; pretend the racy window has passed.
    monkeypatch.setattr(corral.state, "RACY_NS", 0)
    config = config_for(project)
    collect(config)
    before = snapshot(project / "static_root")
    with opened_files() as opened:
        report = collect(config)
    assert [p for p in opened if p.startswith(str(project / "assets"))] == []
    assert [p for p in opened if p.startswith(str(project / "vendor"))] == []
    assert snapshot(project / "static_root") == before  # not even the lock or the state
    assert not report.published and not report.state_written
    assert report.unchanged == ["css/app.css", "js/app.js", "lib/lib.js"]


def test_edit_within_the_same_mtime_is_picked_up(project: Path) -> None:
    config = config_for(project)
    collect(config)
    path = project / "assets/css/app.css"
    st = path.stat()
    path.write_text("body { color: RED }\n")  # same size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the very same mtime
    report = collect(config)
    assert report.changed == ["css/app.css"]
    assert (project / "static_root/css/app.css").read_text() == "body { color: RED }\n"


def test_edit_right_after_a_run_is_picked_up_even_if_identity_matches(project: Path) -> None:
    # A file written in the same clock tick as the recording run is never trusted.
    config = config_for(project)
    collect(config)
    state_dir = StateDir(project / "static_root")
    state = state_dir.load()
    record = state.sources["js/app.js"]
    (project / "assets/js/app.js").write_text("console.log(2)\n")
    # Pretend the edit left every timestamp identical (coarse clock): forge the identity.
    st = (project / "assets/js/app.js").stat()
    forged = type(record)(
        record.path,
        (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev),
        record.digest,
    )
    state.sources["js/app.js"] = forged
    state_dir.save(state)
    report = collect(config)
    assert report.changed == ["js/app.js"]
    assert (project / "static_root/js/app.js").read_text() == "console.log(2)\n"


def test_file_with_an_old_mtime_is_picked_up(project: Path) -> None:
    config = config_for(project)
    collect(config)
    path = project / "vendor/lib/lib.js"
    path.write_text("export const x = 2;\n")
    os.utime(path, (0, 315532800))  # 1980, as npm and tar leave them
    assert collect(config).changed == ["lib/lib.js"]
    assert (project / "static_root/lib/lib.js").read_text() == "export const x = 2;\n"


def test_new_higher_priority_file_with_an_old_mtime_wins(project: Path) -> None:
    config = config_for(project)
    collect(config)
    path = write_tree(project / "assets", {"lib/lib.js": "override\n"}) / "lib/lib.js"
    os.utime(path, (0, 315532800))
    report = collect(config)
    assert report.changed == ["lib/lib.js"]
    assert (project / "static_root/lib/lib.js").read_text() == "override\n"


def test_touched_but_identical_file_is_unchanged(project: Path) -> None:
    config = config_for(project)
    collect(config)
    os.utime(project / "assets/js/app.js", (1, 1))
    report = collect(config)
    assert report.unchanged == ["css/app.css", "js/app.js", "lib/lib.js"]
    assert not report.published


def test_removed_source_file_stays_until_pruned(project: Path) -> None:
    config = config_for(project, keep=None)
    collect(config)
    (project / "assets/js/app.js").unlink()
    report = collect(config)
    assert report.removed == ["js/app.js"] and report.release == 2
    assert (project / "static_root/js/app.js").exists()  # still servable to old pages
    cleaned = clean(config, keep=0)
    assert cleaned.pruned == ["js/app.js"]
    assert not (project / "static_root/js").exists()  # emptied directories go too


def test_clean_keeps_the_current_release_and_n_before(project: Path) -> None:
    config = config_for(project, keep=None)
    for n in range(4):  # releases 1..4, release n+1 holding gen/n only
        if n:
            (project / f"assets/gen/{n - 1}.js").unlink()
        write_tree(project / "assets", {f"gen/{n}.js": f"{n}\n"})
        collect(config)
    (project / "assets/gen/3.js").unlink()
    write_tree(project / "assets", {"gen/final.js": "final\n"})
    collect(config)  # release 5 has none of gen/0..3
    report = clean(config, keep=2)  # keeps 5, 4, 3
    assert report.kept_releases == [3, 4, 5]
    assert report.pruned == ["gen/0.js", "gen/1.js"]
    assert sorted(p for p in served_files(project / "static_root") if p.startswith("gen/")) == [
        "gen/2.js",
        "gen/3.js",
        "gen/final.js",
    ]
    assert StateDir(project / "static_root").release_ids() == [3, 4, 5]


def test_collect_prunes_automatically_with_configured_keep(project: Path) -> None:
    config = config_for(project, keep=0)
    collect(config)
    (project / "vendor/lib/lib.js").unlink()
    report = collect(config)
    assert report.pruned == ["lib/lib.js"]
    assert "lib/lib.js" not in served_files(project / "static_root")


def test_clear_prunes_only_after_the_new_release_and_spares_unowned(project: Path) -> None:
    config = config_for(project, keep=None)
    collect(config)
    (project / "assets/js/app.js").unlink()
    write_tree(project / "static_root", {"by-hand.txt": "mine"})
    report = collect(config, clear=True)
    files = served_files(project / "static_root")
    assert sorted(files) == ["by-hand.txt", "css/app.css", "lib/lib.js"]
    assert report.pruned == ["js/app.js"]
    report = collect(config, clear=True, force=True)
    assert sorted(served_files(project / "static_root")) == ["css/app.css", "lib/lib.js"]
    assert report.pruned == ["by-hand.txt"]


def test_non_empty_directory_not_owned_is_refused_without_force(project: Path) -> None:
    write_tree(project / "static_root", {"keep-me.txt": "precious"})
    with pytest.raises(OwnershipError, match="does not own it") as info:
        collect(config_for(project))
    assert "--force" in (info.value.hint or "")
    assert served_files(project / "static_root") == {"keep-me.txt": b"precious"}
    collect(config_for(project), force=True)  # adopt: existing files are kept, never owned
    assert served_files(project / "static_root")["keep-me.txt"] == b"precious"
    assert clean(config_for(project), keep=0).pruned == []


def test_clean_refuses_a_directory_corral_does_not_own(project: Path) -> None:
    write_tree(project / "static_root", {"x": "y"})
    with pytest.raises(OwnershipError):
        clean(config_for(project), keep=0, force=True)
    assert (project / "static_root/x").exists()


@pytest.mark.parametrize(
    ("root", "message"),
    [
        (".", "is the project root"),
        ("..", "contains the project root"),
        ("assets", "is the source"),
        ("assets/css", "is inside the source"),
    ],
)
def test_root_overlapping_project_or_sources_is_refused(
    project: Path, root: str, message: str
) -> None:
    before = served_files(project)
    with pytest.raises(OwnershipError, match=message):
        collect(config_for(project, root=(project / root).resolve()))
    assert served_files(project) == before


def test_root_containing_a_source_is_refused(tmp_path: Path) -> None:
    write_tree(tmp_path / "proj", {"x": "x"})
    write_tree(tmp_path / "out/src", {"a.css": "a"})
    config = config_for(tmp_path, "out/src", root=tmp_path / "out", project_root=tmp_path / "proj")
    with pytest.raises(OwnershipError, match="contains the source"):
        collect(config)


def test_target_file_changed_by_hand_is_restored(project: Path) -> None:
    config = config_for(project)
    collect(config)
    (project / "static_root/css/app.css").write_text("hacked")
    (project / "static_root/js/app.js").unlink()
    report = collect(config)
    assert report.repaired == ["css/app.css", "js/app.js"]
    assert not report.published
    assert served_files(project / "static_root")["css/app.css"] == b"body { color: red }\n"


def test_identical_content_is_hardlinked_inside_the_target_never_to_sources(tmp_path: Path) -> None:
    write_tree(tmp_path / "src", {"a/jquery.js": "same\n", "b/jquery.js": "same\n"})
    report = collect(config_for(tmp_path, "src"))
    a = (tmp_path / "static_root/a/jquery.js").stat()
    b = (tmp_path / "static_root/b/jquery.js").stat()
    assert a.st_ino == b.st_ino and report.files_linked == 1
    assert a.st_ino != (tmp_path / "src/a/jquery.js").stat().st_ino


def test_published_files_are_world_readable(project: Path) -> None:
    old = os.umask(0o022)
    try:
        collect(config_for(project))
    finally:
        os.umask(old)
    assert (project / "static_root/css/app.css").stat().st_mode & 0o777 == 0o644


def test_conflicts_are_an_error_in_strict_mode(project: Path) -> None:
    with pytest.raises(BuildError) as info:
        collect(config_for(project, strict=True))
    [problem] = info.value.problems
    assert problem.code == "conflict" and problem.logical_path == "css/app.css"
    assert not (project / "static_root").exists()


def test_all_bad_inputs_are_reported_together_and_nothing_changes(project: Path) -> None:
    config = config_for(project, "assets", "vendor", "missing")
    collect(config_for(project))
    before = snapshot(project / "static_root", scratch=False)
    (project / "assets/broken.css").symlink_to(project / "nowhere")
    write_tree(project / "assets", {"new.css": "new"})
    with pytest.raises(BuildError) as info:
        collect(config)
    assert sorted(p.code for p in info.value.problems) == ["broken-symlink", "missing-source"]
    assert snapshot(project / "static_root", scratch=False) == before


def test_dry_run_plans_without_writing(project: Path) -> None:
    config = config_for(project, keep=0)
    report = collect(config, dry_run=True)
    assert report.new == ["css/app.css", "js/app.js", "lib/lib.js"]
    assert not (project / "static_root").exists()
    collect(config)
    (project / "assets/js/app.js").write_text("changed\n")
    (project / "vendor/lib/lib.js").unlink()
    write_tree(project / "assets", {"img/x.svg": "<svg/>"})
    before = snapshot(project / "static_root")
    report = collect(config, dry_run=True)
    assert (report.new, report.changed, report.removed) == (
        ["img/x.svg"],
        ["js/app.js"],
        ["lib/lib.js"],
    )
    assert report.unchanged == ["css/app.css"]
    assert report.pruned == ["lib/lib.js"]
    assert snapshot(project / "static_root") == before


def test_dry_run_with_clear_plans_what_clear_deletes(project: Path) -> None:
    config = config_for(project, hash=True, keep=2)
    collect(config)
    root = project / "static_root"
    (root / "by-hand.txt").write_text("placed by hand")
    before = snapshot(root)
    # Nothing changed: the release stays as it is, hashed copies and manifests included.
    assert collect(config, dry_run=True, clear=True).pruned == []
    # With force, --clear also deletes what corral did not write: the plan says so.
    assert collect(config, dry_run=True, clear=True, force=True).pruned == ["by-hand.txt"]
    assert snapshot(root) == before
    report = collect(config, clear=True, force=True)
    assert report.pruned == ["by-hand.txt"]
    assert not (root / "by-hand.txt").exists()


def test_torn_state_file_is_recovered_from_release_records(project: Path) -> None:
    config = config_for(project, keep=None)
    collect(config)
    (project / "assets/js/app.js").unlink()
    collect(config)
    (state_path(project / "static_root") / "state.json").write_bytes(b"")  # as after a power cut
    report = collect(config)
    assert report.new == ["css/app.css", "lib/lib.js"]  # identities unknown: all rewritten
    assert served_files(project / "static_root")["css/app.css"] == b"body { color: red }\n"
    # Ownership survived: the removed file of release 1 is still prunable.
    assert clean(config, keep=0).pruned == ["js/app.js"]


@pytest.mark.parametrize(
    ("table", "record"),
    [("targets", ["abc", 1, 2]), ("targets", {"a": 1, "b": 2, "c": 3, "d": 4}), ("sources", [])],
)
def test_a_state_record_of_the_wrong_shape_is_a_torn_state(
    project: Path, table: str, record: object
) -> None:
    config = config_for(project, keep=None)
    collect(config)
    state_file = state_path(project / "static_root") / "state.json"
    data = json.loads(state_file.read_bytes())
    data[table][next(iter(data[table]))] = record
    state_file.write_text(json.dumps(data))
    report = collect(config)
    assert report.new == ["css/app.css", "js/app.js", "lib/lib.js"]  # nothing trusted
    assert served_files(project / "static_root")["css/app.css"] == b"body { color: red }\n"


def test_file_replaced_by_directory_between_releases(tmp_path: Path) -> None:
    write_tree(tmp_path / "src", {"icons": "old single file"})
    config = config_for(tmp_path, "src", keep=None)
    collect(config)
    (tmp_path / "src/icons").unlink()
    write_tree(tmp_path / "src", {"icons/a.svg": "<svg/>"})
    collect(config)
    assert served_files(tmp_path / "static_root") == {"icons/a.svg": b"<svg/>"}


def test_hand_placed_file_in_the_way_is_not_overwritten_without_force(project: Path) -> None:
    config = config_for(project)
    collect(config)
    write_tree(project / "static_root", {"img/logo.svg": "hand-made"})
    write_tree(project / "assets", {"img/logo.svg": "<svg/>"})
    with pytest.raises(BuildError) as info:
        collect(config)
    assert info.value.problems[0].code == "target-obstacle"
    assert (project / "static_root/img/logo.svg").read_text() == "hand-made"
    collect(config, force=True)
    assert (project / "static_root/img/logo.svg").read_text() == "<svg/>"


def test_many_identical_files_staged_concurrently_are_all_published(tmp_path: Path) -> None:
    # Enough files to go through the staging threads, all with the same content,
    # so twins are linked while their first copy may still be being written.
    files = {f"d{n % 7}/f{n}.js": "same content\n" for n in range(600)}
    files.update({f"u/{n}.css": f"unique {n}\n" for n in range(300)})
    write_tree(tmp_path / "src", files)
    report = collect(config_for(tmp_path, "src"))
    assert served_files(tmp_path / "static_root") == {k: v.encode() for k, v in files.items()}
    assert len(report.new) == 900
    inodes = {(tmp_path / "static_root" / k).stat().st_ino for k in files if k.startswith("d")}
    assert report.files_linked == 599 - (len(inodes) - 1)


def test_awkward_names_are_published_byte_for_byte(tmp_path: Path) -> None:
    names = ["my file.css", "ünïcødé/日本.js", "font.eot#iefix", "what?.txt", "100%.png"]
    write_tree(tmp_path / "src", {n: f"content of {n}\n" for n in names})
    report = collect(config_for(tmp_path, "src"))
    assert sorted(report.new) == sorted(names)
    assert served_files(tmp_path / "static_root") == {
        n: f"content of {n}\n".encode() for n in names
    }
    assert collect(config_for(tmp_path, "src")).unchanged == sorted(names)


def test_the_release_keeps_the_very_manifest_it_published(project: Path) -> None:
    config = config_for(project, hash=True)
    root = config.root
    report = collect(config)
    store = StateDir(root)
    published = (root / "corral-manifest.json").read_bytes()
    assert "".join(store.release_manifest(report.release or 0)).encode() == published
    assert json.loads(published)["release"] == str(report.release)
    assert list(store.tmp.iterdir()) == []  # the draft was moved, not copied
    # Only repaired (no new release): staged from the manifest made again, none kept.
    (root / "corral-manifest.json").unlink()
    again = collect(config)
    assert again.release == report.release and not again.published
    assert (root / "corral-manifest.json").read_bytes() == published
    assert list(store.tmp.iterdir()) == []
    assert [p.name for p in store.releases_dir.glob("*.manifest.json")] == [
        f"{report.release:08d}.manifest.json"
    ]
