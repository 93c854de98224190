"""The local target (``corral.targets.local``): what the mutation run of its code (then
``publish.py``) found unguarded, one promise per test (docs/testing.md)."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

import corral.digest
from corral import BuildError, TargetError, collect
from corral.targets.local import LocalTarget

from ..conftest import config_for, served_files, state_path, write_tree


@pytest.mark.parametrize(
    ("error", "what", "hint"),
    [
        (errno.ENOSPC, "the disk is full", "free some space and run again"),
        (errno.EDQUOT, "the disk quota is exceeded", "free some space and run again"),
        (errno.EROFS, "the file system is read-only", "remount it read-write or pick another root"),
        (errno.EACCES, "permission denied", "run as a user that may write to the target"),
        (errno.EPERM, "permission denied", "run as a user that may write to the target"),
        (
            errno.ENAMETOOLONG,
            "the name is too long for the target's file system",
            "shorten the source file's name (or its hashed name's stem)",
        ),
        (errno.EIO, os.strerror(errno.EIO), "fix the target directory and run again"),
    ],
)
def test_a_write_error_says_what_happened_where_and_what_to_do(
    tmp_path: Path, error: int, what: str, hint: str
) -> None:
    target = LocalTarget(tmp_path / "root")
    problem = target._write_error(OSError(error, os.strerror(error)), "css/a.css")
    assert str(problem.message) == (
        f"can't write 'css/a.css' into {tmp_path / 'root'}: {what}; nothing was published"
    )
    assert (problem.path, problem.hint) == (str(tmp_path / "root/css/a.css"), hint)


def test_a_name_too_long_once_hashed_is_named_with_the_fix(tmp_path: Path) -> None:
    # 250 bytes is a valid name; its hashed copy (".0123456789ab" more) is not.
    name = "n" * 246 + ".css"
    write_tree(tmp_path / "assets", {name: "a{}", "b.css": "b{}"})
    with pytest.raises(TargetError) as caught:
        collect(config_for(tmp_path, "assets", hash=True))
    assert "the name is too long for the target's file system" in caught.value.message
    assert caught.value.hint == "shorten the source file's name (or its hashed name's stem)"
    assert not (tmp_path / "static_root").exists() or served_files(tmp_path / "static_root") == {}


def test_only_plain_paths_inside_the_root_are_ever_deleted(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "root", {"a.css": "a", "b.css": "b", "dir/keep.css": "k"})
    write_tree(tmp_path, {"outside.css": "o"})
    target = LocalTarget(root)
    odd = ["", ".", "..", "../outside.css", "a/..", "dir/./keep.css", "/etc/passwd", "x\0y"]
    for relpath in odd:
        assert not target.confined(relpath), relpath
    # The odd ones and a directory are skipped; everything after them is still deleted.
    removed = target.remove([*odd, "a.css", "dir", "b.css"])
    assert removed == ["a.css", "b.css"]
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == [
        "dir",
        "dir/keep.css",
    ]
    assert (tmp_path / "outside.css").read_text() == "o"


def test_pruning_removes_every_directory_it_empties_and_no_other(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "root", {"a/b/c/x.css": "x", "a/keep.css": "k", "d/e/y.css": "y"})
    target = LocalTarget(root)
    assert target.remove(["a/b/c/x.css", "d/e/y.css"]) == ["a/b/c/x.css", "d/e/y.css"]
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == ["a", "a/keep.css"]


def test_an_obstacle_deeper_than_a_directory_already_checked_is_found(tmp_path: Path) -> None:
    # "a" is checked (a real directory) for a/x.css; a/b/y.css must still look at "a/b".
    write_tree(tmp_path / "assets", {"a/x.css": "x"})
    config = config_for(tmp_path, "assets")
    collect(config)
    root = tmp_path / "static_root"
    (root / "a/b").write_text("mine")  # by hand, where the directory a/b/ must now go
    write_tree(tmp_path / "assets", {"a/b/y.css": "y", "a/c.css": "c"})
    with pytest.raises(BuildError) as caught:
        collect(config)
    assert [(p.code, p.path) for p in caught.value.problems] == [
        ("target-obstacle", str(root / "a/b"))
    ]
    assert "in the way of 'a/b/y.css'" in caught.value.problems[0].message
    assert (root / "a/b").read_text() == "mine"


def test_a_directory_of_an_old_release_gives_way_to_a_file(tmp_path: Path) -> None:
    # Release 1 has x/y/z.css; release 2 has a file x: corral deletes its own old files
    # under x/ (nothing else was there) and publishes the file.
    write_tree(tmp_path / "assets", {"x/y/z.css": "z", "a.css": "a"})
    config = config_for(tmp_path, "assets", keep=0)
    collect(config)
    (tmp_path / "assets/x/y/z.css").unlink()
    (tmp_path / "assets/x/y").rmdir()
    (tmp_path / "assets/x").rmdir()
    (tmp_path / "assets/x").write_text("now a file")
    collect(config)
    assert served_files(tmp_path / "static_root") == {"a.css": b"a", "x": b"now a file"}


def test_exact_modes_hold_for_every_way_a_file_is_staged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Written from memory, streamed (big), hard-linked to a twin; on a first run (a
    # staging tree) and on a later one (staged one by one).
    monkeypatch.setattr(corral.digest, "WHOLE_READ_LIMIT", 1024)
    big = os.urandom(4096)
    write_tree(tmp_path / "assets", {"a.css": "a{}", "big.png": big, "twin.png": big})
    config = config_for(tmp_path, "assets", hash=True, file_mode=0o640)
    old = os.umask(0o077)
    try:
        collect(config)
        write_tree(
            tmp_path / "assets",
            {"b.css": "b{}", "big2.png": big + b"2", "twin2.png": big + b"2", "a.css": "a{b}"},
        )
        collect(config)
    finally:
        os.umask(old)
    root = tmp_path / "static_root"
    files = [p for p in root.rglob("*") if p.is_file()]
    assert len(files) > 10
    for path in files:
        assert path.stat().st_mode & 0o777 == 0o640, path


def test_a_big_file_copied_once_is_trusted_by_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A streamed copy's record (digest, inode, size, mtime) must match the file, or every
    # run would publish it again.
    monkeypatch.setattr(corral.digest, "WHOLE_READ_LIMIT", 1024)
    write_tree(tmp_path / "assets", {"big.png": os.urandom(4096), "a.css": "a{}"})
    config = config_for(tmp_path, "assets", hash=True)
    collect(config)
    write_tree(tmp_path / "assets", {"big2.png": os.urandom(4096)})  # a later, flat stage
    assert sorted(collect(config).new) == ["big2.png"]
    again = collect(config)
    assert (again.published, again.new, again.changed, again.repaired) == (0, [], [], [])
    state = json.loads((state_path(tmp_path / "static_root") / "state.json").read_text())
    for name in ("big.png", "big2.png"):
        digest, ino, size, mtime_ns = state["targets"][name]
        st = (tmp_path / "static_root" / name).stat()
        assert (ino, size, mtime_ns) == (st.st_ino, st.st_size, st.st_mtime_ns)
        assert isinstance(digest, str) and len(digest) == 64
