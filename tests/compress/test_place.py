"""A cached variant enters a target as a private copy whose bytes are checked."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from corral.compress.cache import integrity_of
from corral.compress.place import StaleEntry, copy_verified

from .conftest import noise


def sri(data: bytes) -> str:
    return integrity_of(hashlib.sha384(data).digest())


@pytest.mark.parametrize("size", [0, 1000, (8 << 20) + 17])
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
