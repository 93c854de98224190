"""corral's bookkeeping files are replaced whole or not at all, from pieces."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from corral.durable import write_atomically


def test_pieces_make_the_file_and_no_temporary_file_is_left(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    target = tmp_path / "state.json"
    target.write_bytes(b"old")
    pieces = [b"x" * 300_000 for _ in range(8)] + [b"end"]  # more than one batch
    write_atomically(target, iter(pieces), scratch)
    assert target.read_bytes() == b"".join(pieces)
    assert list(scratch.iterdir()) == []


def test_a_failure_while_writing_leaves_the_old_file(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    target = tmp_path / "state.json"
    target.write_bytes(b"old")

    def pieces() -> Iterator[bytes]:
        yield b"x" * (2 << 20)
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        write_atomically(target, pieces(), scratch)
    assert target.read_bytes() == b"old"
