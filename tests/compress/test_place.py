"""A cached variant enters a target as a hard link, reflink or copy, its bytes checked."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from corral.compress import place
from corral.compress.cache import integrity_of
from corral.compress.place import Copier, Placer, StaleEntry, copy_verified

from ..conftest import need
from .conftest import noise


def sri(data: bytes) -> str:
    return integrity_of(hashlib.sha384(data).digest())


@pytest.mark.parametrize("size", [0, 1000, 1 << 20, (8 << 20) + 17])
@pytest.mark.parametrize("reflink", [True, False])
def test_the_copy_is_a_new_file_with_the_same_bytes(
    tmp_path: Path, size: int, reflink: bool
) -> None:
    data = noise(size)
    entry = tmp_path / "entry"
    entry.write_bytes(data)
    entry.chmod(0o444)
    dest = tmp_path / "dest"
    copy_verified(str(entry), str(dest), sri(data), reflink=reflink)
    assert dest.read_bytes() == data
    assert dest.stat().st_ino != entry.stat().st_ino
    assert dest.stat().st_mode & 0o200  # the target's file is its own, writable by corral
    with dest.open("r+b") as handle:  # writing into it leaves the cache entry alone
        handle.write(b"x")
    assert entry.read_bytes() == data


def test_an_entry_whose_bytes_do_not_match_is_refused_and_nothing_is_left(
    tmp_path: Path,
) -> None:
    entry = tmp_path / "entry"
    entry.write_bytes(b"corrupt bytes")
    with pytest.raises(StaleEntry, match="not sha384-"):
        copy_verified(str(entry), str(tmp_path / "dest"), sri(b"the promised bytes"))
    assert not (tmp_path / "dest").exists()


def test_a_vanished_entry_is_stale_not_an_error_of_the_target(tmp_path: Path) -> None:
    with pytest.raises(StaleEntry, match="can't open"):
        copy_verified(str(tmp_path / "gone"), str(tmp_path / "dest"), sri(b""))
    assert not (tmp_path / "dest").exists()


def test_an_unwritable_destination_is_an_os_error(tmp_path: Path) -> None:
    entry = tmp_path / "entry"
    entry.write_bytes(b"data")
    with pytest.raises(FileNotFoundError):
        copy_verified(str(entry), str(tmp_path / "missing-dir" / "dest"), sri(b"data"))
    assert os.listdir(tmp_path) == ["entry"]


def test_the_copier_returns_the_identity_of_the_copy_it_made(tmp_path: Path) -> None:
    data = noise(3000)
    entry = tmp_path / "entry"
    entry.write_bytes(data)
    dest = tmp_path / "dest"
    identity = Copier()(str(entry), str(dest), sri(data))
    st = dest.stat()
    assert identity == (st.st_ino, st.st_size, st.st_mtime_ns)
    assert dest.read_bytes() == data


def test_the_copier_stops_asking_for_reflinks_once_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno  # noqa: PLC0415
    import fcntl  # noqa: PLC0415

    asked: list[int] = []

    def refuse(fd: int, request: int, arg: int) -> None:
        asked.append(request)
        raise OSError(errno.EOPNOTSUPP, "no reflinks here")

    monkeypatch.setattr(fcntl, "ioctl", refuse)
    copier = Copier()
    for index in range(3):
        data = noise(100 + index)
        entry = tmp_path / f"entry{index}"
        entry.write_bytes(data)
        copier(str(entry), str(tmp_path / f"dest{index}"), sri(data))
        assert (tmp_path / f"dest{index}").read_bytes() == data
    assert asked == [place.FICLONE]
    assert copier.cloned == 0


def test_the_copier_refuses_a_corrupt_entry_in_a_later_copy_too(tmp_path: Path) -> None:
    copier = Copier()
    good, bad = tmp_path / "good", tmp_path / "bad"
    good.write_bytes(b"good bytes")
    bad.write_bytes(b"bad bytes")
    copier(str(good), str(tmp_path / "one"), sri(b"good bytes"))
    with pytest.raises(StaleEntry, match="not sha384-"):
        copier(str(bad), str(tmp_path / "two"), sri(b"the promised bytes"))
    assert not (tmp_path / "two").exists()


# --- the Placer: hard links where safe, else reflinks and copies ----------------------


def _entry(directory: Path, data: bytes, name: str = "entry", mode: int = 0o444) -> Path:
    """A cache entry as the cache writes it: its bytes, then read-only."""
    entry = directory / name
    entry.write_bytes(data)
    entry.chmod(mode)
    return entry


def _copy_mode() -> int:
    """The read bits a copy made now gets (0o644 less the umask)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o444 & ~umask


def test_the_placer_links_an_entry_of_the_right_mode_after_checking_its_bytes(
    tmp_path: Path,
) -> None:
    data = noise(5000)
    entry = _entry(tmp_path, data, mode=_copy_mode())
    dest = tmp_path / "dest"
    placer = Placer()
    identity = placer(str(entry), str(dest), sri(data))
    st = dest.stat()
    assert st.st_ino == entry.stat().st_ino and st.st_nlink == 2
    assert identity == (st.st_ino, st.st_size, st.st_mtime_ns)
    assert placer.linked == 1 and placer.link


def test_the_placer_refuses_a_corrupt_entry_and_leaves_no_link(tmp_path: Path) -> None:
    entry = _entry(tmp_path, b"corrupt bytes", mode=_copy_mode())
    placer = Placer()
    with pytest.raises(StaleEntry, match="not sha384-"):
        placer(str(entry), str(tmp_path / "dest"), sri(b"the promised bytes"))
    assert not (tmp_path / "dest").exists() and entry.stat().st_nlink == 1
    assert placer.link  # a bad entry is the entry's fault: links go on
    good = _entry(tmp_path, b"good", "good", mode=_copy_mode())
    placer(str(good), str(tmp_path / "two"), sri(b"good"))
    assert (tmp_path / "two").stat().st_ino == good.stat().st_ino


def test_a_vanished_entry_is_stale_for_the_placer_too(tmp_path: Path) -> None:
    with pytest.raises(StaleEntry, match="gone"):
        Placer()(str(tmp_path / "gone"), str(tmp_path / "dest"), sri(b""))
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("file_mode", [0o640, 0o644])
def test_a_file_mode_other_than_the_entrys_gets_a_copy_and_the_entry_keeps_its_mode(
    tmp_path: Path, file_mode: int
) -> None:
    data = noise(2000)
    entries = [_entry(tmp_path, data + bytes([n]), f"e{n}") for n in range(3)]
    placer = Placer(mode=file_mode)
    for n, entry in enumerate(entries):
        dest = tmp_path / f"dest{n}"
        placer(str(entry), str(dest), sri(data + bytes([n])))
        assert dest.read_bytes() == data + bytes([n])
        assert dest.stat().st_ino != entry.stat().st_ino
        assert dest.stat().st_mode & 0o777 == file_mode
        assert entry.stat().st_mode & 0o777 == 0o444 and entry.stat().st_nlink == 1
    assert placer.linked == 0 and not placer.link
    assert placer.refusal == f"cache entries have mode 444, variants must have {file_mode:o}"


def test_a_file_mode_equal_to_the_entrys_is_linked(tmp_path: Path) -> None:
    entry = _entry(tmp_path, b"bytes")
    Placer(mode=0o444)(str(entry), str(tmp_path / "dest"), sri(b"bytes"))
    assert (tmp_path / "dest").stat().st_ino == entry.stat().st_ino


def test_an_entry_written_under_a_stricter_umask_is_copied(tmp_path: Path) -> None:
    # Written by a run with umask 077 (0o400): linking it would publish a file the web
    # server's user can't read, where a copy gets this run's 0o644 less the umask.
    entry = _entry(tmp_path, b"bytes", mode=0o400)
    dest = tmp_path / "dest"
    placer = Placer()
    placer(str(entry), str(dest), sri(b"bytes"))
    assert dest.stat().st_ino != entry.stat().st_ino
    assert dest.stat().st_mode & 0o444 == _copy_mode()


def test_a_private_cache_is_linked_whatever_the_mode_and_gets_file_mode(tmp_path: Path) -> None:
    entry = _entry(tmp_path, b"bytes")
    dest = tmp_path / "dest"
    placer = Placer(mode=0o640, private=True)
    identity = placer(str(entry), str(dest), sri(b"bytes"))
    st = dest.stat()
    assert st.st_ino == entry.stat().st_ino and st.st_mode & 0o777 == 0o640
    assert identity == (st.st_ino, st.st_size, st.st_mtime_ns)


class _Refusing:
    """``os.link`` that refuses with ``code`` (what a kernel says in the cases named)."""

    def __init__(self, code: int) -> None:
        self.code = code
        self.calls = 0

    def __call__(self, source: str, dest: str) -> None:
        self.calls += 1
        raise OSError(self.code, os.strerror(self.code))


@pytest.mark.parametrize("code", [errno.EXDEV, errno.EPERM, errno.EACCES])
def test_a_refused_link_falls_back_to_copies_once_per_run(tmp_path: Path, code: int) -> None:
    linker = _Refusing(code)
    placer = Placer(linker=linker)
    for n in range(3):
        entry = _entry(tmp_path, b"data %d" % n, f"e{n}", mode=_copy_mode())
        dest = tmp_path / f"dest{n}"
        placer(str(entry), str(dest), sri(b"data %d" % n))
        assert dest.read_bytes() == b"data %d" % n
        assert dest.stat().st_ino != entry.stat().st_ino
    assert linker.calls == 1  # one failing link per run, not per file
    assert placer.refusal == os.strerror(code)


def test_an_entry_at_its_link_limit_is_copied_and_links_go_on(tmp_path: Path) -> None:
    calls: list[str] = []

    def full_then_link(source: str, dest: str) -> None:
        calls.append(source)
        if len(calls) == 1:
            raise OSError(errno.EMLINK, os.strerror(errno.EMLINK))
        os.link(source, dest)

    placer = Placer(linker=full_then_link)
    first = _entry(tmp_path, b"one", "one", mode=_copy_mode())
    second = _entry(tmp_path, b"two", "two", mode=_copy_mode())
    placer(str(first), str(tmp_path / "d1"), sri(b"one"))
    placer(str(second), str(tmp_path / "d2"), sri(b"two"))
    assert (tmp_path / "d1").stat().st_ino != first.stat().st_ino
    assert (tmp_path / "d2").stat().st_ino == second.stat().st_ino
    assert placer.linked == 1


def test_a_cache_on_another_file_system_is_copied(tmp_path: Path) -> None:
    # A real second file system (tmpfs at /dev/shm against the disk), as a container
    # build's cache mount is: link(2) says EXDEV once, then every entry is copied.
    other = _other_file_system(tmp_path)
    calls: list[str] = []

    def counting_link(source: str, dest: str) -> None:
        calls.append(source)
        os.link(source, dest)

    placer = Placer(linker=counting_link)
    try:
        for n in range(3):
            entry = _entry(other, b"bytes %d" % n, f"e{n}", mode=_copy_mode())
            dest = tmp_path / f"dest{n}"
            placer(str(entry), str(dest), sri(b"bytes %d" % n))
            assert dest.read_bytes() == b"bytes %d" % n
            assert dest.stat().st_nlink == 1
    finally:
        shutil.rmtree(other)
    assert len(calls) == 1 and placer.refusal is not None and placer.linked == 0


def _other_file_system(tmp_path: Path) -> Path:
    """A directory on another file system than ``tmp_path`` (/dev/shm is tmpfs on Linux);
    without one the test is skipped, and fails in CI."""
    for base in ("/dev/shm", "/run/user", "/tmp"):
        usable = os.path.isdir(base) and os.access(base, os.W_OK)
        if usable and os.stat(base).st_dev != os.stat(tmp_path).st_dev:
            return Path(tempfile.mkdtemp(prefix="corral-other-fs-", dir=base))
    need(False, "no writable directory on a second file system (/dev/shm is tmpfs on Linux)")
    raise AssertionError  # need() skipped or failed
