"""The target side, against real failures: a full disk, a read-only mount, no permission."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import corral.build.stage
import corral.digest
from corral import BuildError, TargetError, collect
from corral.cli import main
from corral.digest import _CHUNK, WHOLE_READ_LIMIT, digest_file, sri_value
from corral.guards import ChangedWhileRead

from .conftest import config_for, need, remount, served_files, snapshot, state_path, write_tree

SETPRIV = shutil.which("setpriv")


def unprivileged(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run corral as root *without* the capabilities that bypass file permissions."""
    need(SETPRIV is not None, "setpriv (util-linux) is needed to drop capabilities")
    assert SETPRIV is not None
    return subprocess.run(
        [
            SETPRIV,
            "--bounding-set=-dac_override,-dac_read_search",
            sys.executable,
            "-m",
            "corral",
            *args,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def test_full_disk_fails_cleanly_and_keeps_the_previous_release(
    tmpfs: Path, tmp_path: Path
) -> None:
    write_tree(tmp_path / "src", {"css/app.css": "a{}", "js/app.js": "1"})
    config = config_for(tmp_path, "src", root=tmpfs / "static")
    collect(config)
    before = snapshot(tmpfs / "static", scratch=False)
    (tmp_path / "src/css/app.css").write_text("b{}")
    write_tree(tmp_path / "src", {"big.bin": os.urandom(2 << 20)})  # 2 MiB on a 1 MiB disk
    with pytest.raises(TargetError, match="the disk is full; nothing was published") as info:
        collect(config)
    assert info.value.hint == "free some space and run again"
    assert snapshot(tmpfs / "static", scratch=False) == before
    assert os.listdir(state_path(tmpfs / "static") / "tmp") == []
    (tmp_path / "src/big.bin").unlink()
    assert collect(config).changed == ["css/app.css"]
    assert served_files(tmpfs / "static")["css/app.css"] == b"b{}"


def test_read_only_target_fails_cleanly(tmpfs: Path, tmp_path: Path) -> None:
    write_tree(tmp_path / "src", {"css/app.css": "a{}"})
    config = config_for(tmp_path, "src", root=tmpfs / "static")
    collect(config)
    before = served_files(tmpfs / "static")
    (tmp_path / "src/css/app.css").write_text("b{}")
    remount(tmpfs, "ro")
    try:
        with pytest.raises(TargetError, match="Read-only file system") as info:
            collect(config)
        assert "writable" in (info.value.hint or "")
        assert served_files(tmpfs / "static") == before
    finally:
        remount(tmpfs, "rw")
    assert collect(config).changed == ["css/app.css"]


def test_target_without_write_permission_fails_with_exit_1(tmp_path: Path) -> None:
    write_tree(tmp_path / "src", {"a.css": "a"})
    root = tmp_path / "static_root"
    root.mkdir()
    root.chmod(0o555)
    result = unprivileged("collect", "--root", str(root), "--source", "src", cwd=tmp_path)
    assert result.returncode == 1
    assert "permission denied; nothing was published" in result.stderr
    assert os.listdir(root) == []


def test_unreadable_source_file_is_named_and_nothing_is_published(tmp_path: Path) -> None:
    write_tree(tmp_path / "src", {"a.css": "a", "b.css": "b"})
    args = ("collect", "--root", "static_root", "--source", "src")
    assert unprivileged(*args, cwd=tmp_path).returncode == 0
    before = snapshot(tmp_path / "static_root", scratch=False)
    (tmp_path / "src/a.css").write_text("a2")
    (tmp_path / "src/secret.css").write_text("s")
    (tmp_path / "src/secret.css").chmod(0o000)
    result = unprivileged(*args, cwd=tmp_path)
    assert result.returncode == 1
    assert f"{tmp_path / 'src/secret.css'}: permission denied reading this file" in result.stderr
    assert "make it readable by the user running corral" in result.stderr
    assert snapshot(tmp_path / "static_root", scratch=False) == before
    assert os.listdir(state_path(tmp_path / "static_root") / "tmp") == []


def test_unreadable_source_directory_is_named(tmp_path: Path) -> None:
    write_tree(tmp_path / "src", {"a.css": "a", "locked/b.css": "b"})
    (tmp_path / "src/locked").chmod(0o000)
    try:
        result = unprivileged("collect", "--root", "out", "--source", "src", cwd=tmp_path)
    finally:
        (tmp_path / "src/locked").chmod(0o755)
    assert result.returncode == 1
    assert f"{tmp_path / 'src/locked'}: can't list directory: Permission denied" in result.stderr
    assert not (tmp_path / "out").exists()


def test_build_error_lists_every_problem(tmp_path: Path) -> None:
    write_tree(tmp_path / "a", {"icons": "file", "ok.css": "x"})
    write_tree(tmp_path / "b", {"icons/x.svg": "<svg/>"})
    (tmp_path / "a/loop").symlink_to(tmp_path / "a/loop")
    with pytest.raises(BuildError) as info:
        collect(config_for(tmp_path, "a", "b", "c"))
    assert sorted(p.code for p in info.value.problems) == [
        "file-directory-clash",
        "missing-source",
        "symlink-loop",
    ]
    assert str(info.value).startswith("3 problems found; nothing was published")


def sample_file(tmp_path: Path, size: int) -> tuple[str, bytes]:
    """A file of ``size`` bytes of every byte value; its path and its content."""
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    return str(path), data


@pytest.mark.parametrize("size", [0, 5, WHOLE_READ_LIMIT + 1])
@pytest.mark.parametrize("sri", [None, "sha256", "sha384", "sha512"])
def test_digest_file_reads_once_for_every_digest(
    tmp_path: Path, size: int, sri: str | None
) -> None:
    path, data = sample_file(tmp_path, size)
    digests, held = digest_file(path, sri=sri)
    assert digests.sha256 == hashlib.sha256(data).hexdigest()
    assert held == (data if size <= WHOLE_READ_LIMIT else None)  # big files stream
    if sri is None:
        assert (digests.md5, digests.integrity) == (None, None)
        return
    assert digests.md5 == hashlib.md5(data).hexdigest()
    raw = hashlib.new(sri, data).digest()
    assert digests.integrity == f"{sri}-{base64.b64encode(raw).decode()}" == sri_value(sri, raw)


@pytest.mark.parametrize("size", [0, 5, 3 * 1024 * 1024, 2 * _CHUNK])
def test_digest_file_given_the_size_the_scan_saw_reads_the_file_whole(
    tmp_path: Path, size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, data = sample_file(tmp_path, size)
    real_read = os.read
    short = [True]

    def short_first_read(fd: int, n: int) -> bytes:  # a file system may give a short read
        if short[0] and n > 1:
            short[0] = False
            return real_read(fd, n // 2)
        return real_read(fd, n)

    monkeypatch.setattr(corral.digest.os, "read", short_first_read)
    digests, held = digest_file(path, size=size)
    assert digests.sha256 == hashlib.sha256(data).hexdigest()
    assert held == (data if size <= WHOLE_READ_LIMIT else None)


@pytest.mark.parametrize(
    ("seen", "now"),
    [
        (5, 0),
        (5, 3),
        (5, 9),
        (3, 3 * 1024 * 1024),
        (WHOLE_READ_LIMIT + 1, WHOLE_READ_LIMIT + 7),
        (WHOLE_READ_LIMIT + 9, WHOLE_READ_LIMIT + 1),
        (2 * _CHUNK, _CHUNK + 7),
    ],
)
def test_digest_file_refuses_a_file_whose_size_is_not_what_the_scan_saw(
    tmp_path: Path, seen: int, now: int
) -> None:
    # ``seen``: the size handed in (from the scan); ``now``: what the file holds when
    # it is read, after it grew or shrank meanwhile: its digest would go with a size and
    # a name that describe other bytes.
    path, _data = sample_file(tmp_path, now)
    with pytest.raises(ChangedWhileRead) as caught:
        digest_file(path, size=seen)
    assert (caught.value.source, caught.value.scanned, caught.value.read) == (path, seen, now)
    problem = caught.value.problem("img/a.bin")
    assert (problem.code, problem.path, problem.logical_path) == (
        "changed-during-build",
        path,
        "img/a.bin",
    )
    assert f"{seen} bytes when the sources were scanned, {now} when it was read" in problem.message
    assert problem.hint == "run again once whatever is writing the file has finished"


def test_digest_file_given_a_size_takes_no_stat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc")

    def no_stat(fd: int) -> os.stat_result:
        raise AssertionError("fstat called")

    monkeypatch.setattr(corral.digest.os, "fstat", no_stat)
    digests, held = digest_file(str(path), size=3)
    assert (digests.sha256, held) == (hashlib.sha256(b"abc").hexdigest(), b"abc")


@pytest.mark.parametrize(
    "options",
    [
        {"hash": True, "compress": False},  # a type compression skips: nothing re-reads it
        {"hash": False, "compress": False},  # --no-hash --no-compress
        {"hash": True, "compress": True},
    ],
)
def test_a_big_file_rewritten_between_hashing_and_copying_is_never_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, options: dict[str, bool]
) -> None:
    # A file too big to hold in memory is hashed in one read and copied in another; a
    # writer that rewrites it in place (same size) in between must not get a published
    # file whose hashed name, sha256 and SRI value describe other bytes.
    monkeypatch.setattr(corral.digest, "WHOLE_READ_LIMIT", 1024)
    old, new = os.urandom(4096), os.urandom(4096)
    write_tree(tmp_path / "assets", {"img/photo.png": old, "a.css": "a{}"})
    real = corral.build.stage.digest_file

    def then_rewrite(path: str, **kwargs: object) -> object:
        result = real(path, **kwargs)  # type: ignore[arg-type]
        if path.endswith("photo.png"):
            Path(path).write_bytes(new)  # same size, in place
        return result

    monkeypatch.setattr(corral.build.stage, "digest_file", then_rewrite)
    config = config_for(tmp_path, "assets", **options)
    with pytest.raises(BuildError) as caught:
        collect(config)
    [problem] = caught.value.problems
    assert problem.code == "changed-during-build"
    assert problem.path == str(tmp_path / "assets/img/photo.png")
    assert not (tmp_path / "static_root").exists() or served_files(tmp_path / "static_root") == {}
    monkeypatch.setattr(corral.build.stage, "digest_file", real)
    collect(config)  # the next run publishes the file as it now is, consistently
    published = served_files(tmp_path / "static_root")
    assert published["img/photo.png"] == new
    if options["hash"]:
        md5 = hashlib.md5(new, usedforsecurity=False).hexdigest()[:12]
        assert published[f"img/photo.{md5}.png"] == new


def _changing(
    monkeypatch: pytest.MonkeyPatch, name: str, change: Callable[[Path], None], *, when: str
) -> None:
    """Let ``change`` rewrite the source file ``name`` once: after the scan, right before
    the read that hashes it (``when="before"``), or right after it (``"after"``: a run
    that fingerprints reads a stylesheet a second time, to find its references)."""
    real = corral.build.stage.digest_file
    pending = [True]

    def hashing(path: str, **kwargs: object) -> object:
        go = pending[0] and path.endswith(name)
        if go and when == "before":
            pending[0] = False
            change(Path(path))
        result = real(path, **kwargs)  # type: ignore[arg-type]
        if go and when == "after":
            pending[0] = False
            change(Path(path))
        return result

    monkeypatch.setattr(corral.build.stage, "digest_file", hashing)


def _grow(path: Path) -> None:
    with path.open("ab") as fh:
        fh.write(b"/* still being written */\n" * 8)


def _shrink(path: Path) -> None:
    with path.open("r+b") as fh:
        fh.truncate(path.stat().st_size // 2)


@pytest.mark.parametrize(
    ("big", "when", "change", "options"),
    [
        # The compression stage read the staged copy and named its temporary file.
        (False, "before", _grow, {"hash": False, "compress": True}),
        (True, "before", _grow, {"hash": False, "compress": True}),  # streamed (> the limit)
        (True, "before", _shrink, {"hash": True, "compress": True}),
        # Published with a digest of other bytes than its size and name said, exit 0.
        (False, "before", _shrink, {"hash": False, "compress": False}),
        (False, "before", _grow, {"hash": True, "compress": False}),
        # The second read (references) saw other bytes than the first: the manifest gave
        # the hashed copy the size of the one and the digest and bytes of the other.
        (False, "after", _grow, {"hash": True, "compress": False}),
        (False, "after", _grow, {"hash": True, "compress": True}),
    ],
)
def test_a_source_changing_size_during_a_run_is_named_and_nothing_is_published(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    big: bool,
    when: str,
    change: Callable[[Path], None],
    options: dict[str, bool],
) -> None:
    monkeypatch.setattr(corral.digest, "WHOLE_READ_LIMIT", 1024)
    write_tree(tmp_path / "assets", {"css/app.css": "a{color:red}\n", "b.css": "b{}"})
    config = config_for(tmp_path, "assets", **options)
    collect(config)
    root = tmp_path / "static_root"
    before = snapshot(root, scratch=False)
    source = tmp_path / "assets/css/app.css"
    source.write_text("a{color:blue}\n" * (200 if big else 3), encoding="utf-8")
    _changing(monkeypatch, "app.css", change, when=when)
    with pytest.raises(BuildError) as caught:
        collect(config)
    [problem] = caught.value.problems
    assert (problem.code, problem.path, problem.logical_path) == (
        "changed-during-build",
        str(source),  # the source, never a temporary file of corral's
        "css/app.css",
    )
    assert problem.hint == "run again once whatever is writing the file has finished"
    assert snapshot(root, scratch=False) == before  # the previous release, whole
    assert os.listdir(state_path(root) / "tmp") == []
    monkeypatch.setattr(corral.build.stage, "digest_file", digest_file)
    collect(config)  # once the file is stable, it is published as it now is
    published = served_files(root)
    assert published["css/app.css"] == source.read_bytes()
    if options["hash"]:
        entry = json.loads(published["corral-manifest.json"])["files"]["css/app.css"]
        assert published[entry["hashed"]] == source.read_bytes()
        assert entry["size"] == source.stat().st_size
        assert entry["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()


def test_the_command_line_names_a_source_changing_size_and_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tree(tmp_path / "assets", {"css/app.css": "a{color:red}\n"})
    monkeypatch.chdir(tmp_path)
    _changing(monkeypatch, "app.css", _grow, when="before")
    status = main(["collect", "--root", "static_root", "--source", "assets", "--no-compress"])
    err = capsys.readouterr().err
    assert status == 1
    assert str(tmp_path / "assets/css/app.css") in err
    assert "changed while corral was reading it" in err and "run again once" in err
    assert "Traceback" not in err and ".corral/tmp" not in err
    assert not (tmp_path / "static_root").exists() or served_files(tmp_path / "static_root") == {}
