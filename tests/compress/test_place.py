"""A cached variant enters a target as a private copy whose bytes are checked."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from corral.compress import place
from corral.compress.cache import integrity_of
from corral.compress.place import Copier, StaleEntry, copy_verified

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
