"""``corral check`` verifies the published release: identities by default, contents with
``--deep``, the manifests against the files they name, and a run in progress."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from corral import check, collect
from corral.lock import TargetLock
from corral.state import StateDir

from .conftest import config_for, write_tree


def published(project: Path, **options: object) -> Path:
    write_tree(project / "assets", {"img/a.png": b"\x89PNG" + os.urandom(64)})
    collect(config_for(project, "assets", **options))
    return project / "static_root"


def codes(project: Path, *, deep: bool = False, **options: object) -> list[str]:
    return sorted(
        p.code for p in check(config_for(project, "assets", **options), deep=deep).problems
    )


def test_a_clean_release_checks_clean_shallow_and_deep(project: Path) -> None:
    published(project, hash=True, compress=True)
    assert codes(project, hash=True, compress=True) == []
    assert codes(project, deep=True, hash=True, compress=True) == []


def test_a_hashed_copy_changed_in_place_is_modified(project: Path) -> None:
    root = published(project, hash=True)
    [hashed] = [p for p in root.rglob("a.*.png")]
    with open(hashed, "r+b") as fh:  # same inode and size, new mtime
        fh.write(b"X")
    # The original is a hard link of the same bytes: both changed.
    assert codes(project, hash=True) == ["modified", "modified"]


def test_deep_sees_bytes_changed_behind_an_unchanged_identity(project: Path) -> None:
    root = published(project, hash=True)
    [hashed] = [p for p in root.rglob("a.*.png")]
    st = hashed.stat()
    with open(hashed, "r+b") as fh:
        fh.write(b"X")
    os.utime(hashed, ns=(st.st_atime_ns, st.st_mtime_ns))  # the old mtime restored
    assert codes(project, hash=True) == []  # identity alone can't tell
    deep = codes(project, deep=True, hash=True)
    assert deep == ["content-mismatch", "content-mismatch", "manifest-mismatch"]


def test_a_manifest_naming_a_missing_file_is_reported(project: Path) -> None:
    root = published(project, hash=True)
    django = json.loads((root / "staticfiles.json").read_text())
    django["paths"]["img/b.png"] = "img/b.0123456789ab.png"
    (root / "staticfiles.json").write_text(json.dumps(django))
    found = check(config_for(project, "assets", hash=True)).problems
    mismatch = [p for p in found if p.code == "manifest-mismatch"]
    assert len(mismatch) == 1 and "img/b.0123456789ab.png" in mismatch[0].message


def test_check_during_a_run_reports_nothing_false(project: Path) -> None:
    root = published(project, hash=True)
    (root / "img/half-staged.png").write_bytes(b"x")  # what a run in progress may show
    lock_file = StateDir(root).lock_file
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from pathlib import Path; from corral.lock import TargetLock\n"
         f"with TargetLock(Path({str(lock_file)!r}), Path({str(root)!r})):\n"
         "    print('held', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        result = check(config_for(project, "assets", hash=True))
        assert result.problems == []
        assert [w.code for w in result.warnings if w.code == "collect-running"] == [
            "collect-running"
        ]
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()
    assert codes(project, hash=True) == ["hand-placed"]  # once the run is over
    with TargetLock(lock_file, root):  # this process: not another run
        assert codes(project, hash=True) == ["hand-placed"]


def test_check_deep_on_the_command_line(project: Path) -> None:
    published(project, hash=True)
    args = [sys.executable, "-m", "corral", "check", "--root", "static_root", "--source",
            "assets", "--deep"]  # fmt: skip
    done = subprocess.run(args, cwd=project, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "No problems found" in done.stdout


def test_check_root_naming_a_file_is_a_clear_problem(project: Path) -> None:
    (project / "afile").write_text("x")
    args = [sys.executable, "-m", "corral", "check", "--root", "afile", "--source", "assets"]
    done = subprocess.run(args, cwd=project, capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "is not a directory" in done.stderr
