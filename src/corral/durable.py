"""Durable, atomic file writes for corral's bookkeeping: a temporary file in a scratch
directory on the same file system, fsync, rename over the old file, fsync the
directory. A reader sees the old file or the new one, never a torn one; a crash
leaves at most a temporary file, which the next run removes."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path

from corral.guards import fsync_dir, write_all

__all__ = ["write_atomically", "write_durably"]

#: Bytes written per system call when the content comes in many small pieces.
_BATCH = 1 << 20


def write_atomically(path: Path, parts: Iterable[bytes], scratch: Path) -> None:
    """Replace ``path`` with the concatenation of ``parts`` (consumed as they come, so a
    big file need never be held whole), durably; ``scratch`` is on ``path``'s file
    system. Raises ``OSError``."""
    tmp = scratch / f"{path.name}.{os.getpid()}.{time.monotonic_ns()}"
    write_durably(tmp, parts)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def write_durably(path: Path, parts: Iterable[bytes]) -> None:
    """Write the concatenation of ``parts`` to a new file ``path`` and fsync it (not its
    directory: for a scratch file that is renamed into place later). ``OSError``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        batch: list[bytes] = []
        size = 0
        for part in parts:
            batch.append(part)
            size += len(part)
            if size >= _BATCH:
                write_all(fd, b"".join(batch))
                batch, size = [], 0
        write_all(fd, b"".join(batch))
        os.fsync(fd)
    finally:
        os.close(fd)
