"""The Target protocol (``corral.targets.base``) as the stages use it, on the local target."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from corral.errors import OwnershipError
from corral.state import TargetRecord
from corral.targets.base import Staged, Target
from corral.targets.local import LocalTarget


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _target(tmp_path: Path) -> LocalTarget:
    return LocalTarget(tmp_path / "root", state_dir=tmp_path / "state")


def _stage(target: Target, relpath: str, data: bytes) -> Staged:
    return target.stage_bytes(relpath, data, _digest(data))


def test_a_first_run_places_a_tree_and_the_manifests_after_it(tmp_path: Path) -> None:
    target = _target(tmp_path)
    assert target.usable([], force=False)  # nothing there yet
    with target.locked(wait=0), target.writing(force=False) as fresh:
        assert fresh and target.writes_directly
        files = [_stage(target, "css/app.css", b"a{}"), _stage(target, "js/app.js", b"1")]
        manifest = _stage(target, "staticfiles.json", b"{}")
        assert target.obstacles([s.relpath for s in files], {}, set()) == ([], [])
        records = target.place(files, [manifest])
    assert sorted(records) == ["css/app.css", "js/app.js", "staticfiles.json"]
    root = tmp_path / "root"
    for relpath, record in records.items():
        st = os.lstat(root / relpath)
        assert record == TargetRecord(
            _digest((root / relpath).read_bytes()), st.st_ino, st.st_size, st.st_mtime_ns
        )
    assert sorted(os.listdir(root)) == ["css", "js", "staticfiles.json"]  # no staging left
    assert target.intact_files(records, set()) == set(records)


def test_places_for_other_processes_are_given_once_and_only_to_a_first_run(
    tmp_path: Path,
) -> None:
    target = _target(tmp_path)
    with target.locked(wait=0), target.writing(force=False):
        places = dict(target.direct_places(["a/x.css", "a/x.css", "b.js"]))
        assert sorted(places) == ["a/x.css", "b.js"]
        assert all(os.path.isdir(os.path.dirname(p)) for p in places.values())
        Path(places["b.js"]).write_bytes(b"1")
        target.adopt(Staged("b.js", places["b.js"], _digest(b"1")))
        records = target.place([Staged("b.js", places["b.js"], _digest(b"1"))], [])
    assert (tmp_path / "root/b.js").read_bytes() == b"1"
    with target.locked(wait=0), target.writing(force=False) as fresh:
        assert not fresh and not target.writes_directly  # the root is corral's now
        assert list(target.direct_places(["c.js"])) == []
        assert target.intact_files(records, set()) == {"b.js"}


def test_a_root_holding_files_is_refused_unless_forced(tmp_path: Path) -> None:
    target = _target(tmp_path)
    (tmp_path / "root").mkdir()
    (tmp_path / "root/index.html").write_text("mine")
    with pytest.raises(OwnershipError):
        target.usable([], force=False)
    assert not target.usable([], force=True)  # adopted, and not empty
    with pytest.raises(OwnershipError):
        target.require_owned()


def test_rewrite_replaces_a_placed_file_with_the_mode_given(tmp_path: Path) -> None:
    target = _target(tmp_path)
    with target.locked(wait=0), target.writing(force=False):
        records = target.place([_stage(target, "m.json", b"{}")], [])
    before = records["m.json"]
    record = target.rewrite("m.json", b'{"a":1}', _digest(b'{"a":1}'), 0o640)
    path = tmp_path / "root/m.json"
    assert path.read_bytes() == b'{"a":1}'
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert record.ino != before.ino and record.digest == _digest(b'{"a":1}')
    assert not (tmp_path / "root/.corral-staging").exists()


def test_a_twin_is_staged_with_the_bytes_of_a_file_staged_before(tmp_path: Path) -> None:
    # A variant shared by a hashed copy and its original: one copy, the other its twin.
    target = _target(tmp_path)
    with target.locked(wait=0), target.writing(force=False):
        first = _stage(target, "a.css.gz", b"gz")
        twin = target.stage_twin("a.1234.css.gz", first.tmp, _digest(b"gz"))
        assert twin == Staged("a.1234.css.gz", twin.tmp, _digest(b"gz"))
        assert os.path.samefile(twin.tmp, first.tmp)
        records = target.place([first, twin], [])
    root = tmp_path / "root"
    assert (root / "a.css.gz").read_bytes() == (root / "a.1234.css.gz").read_bytes() == b"gz"
    assert sorted(records) == ["a.1234.css.gz", "a.css.gz"]
