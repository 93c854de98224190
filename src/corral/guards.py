"""Guards for touching the file system: never follow a symbolic link when deleting,
never delete outside the directory meant, renames that must be atomic.

Every deletion corral makes in its own directories and in the target goes through
these functions (or :meth:`corral.targets.local.LocalTarget.remove`, which confines itself
to the target by resolved path).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path

from corral.errors import Problem

__all__ = [
    "VCS_DIRS",
    "ChangedWhileCopied",
    "ChangedWhileRead",
    "copy_new",
    "empty_directory",
    "entries",
    "fsync_dir",
    "move",
    "owned_dir",
    "read_exactly",
    "real_directory",
    "remove_tree",
    "same_file_system",
    "write_all",
    "write_gitignore",
    "write_new",
]

#: Version-control directories: never deleted, not even by ``--force --clear``.
VCS_DIRS = frozenset({".git", ".hg", ".svn", ".bzr", "_darcs", "CVS"})

#: Copies go in chunks of this size.
_CHUNK = 1 << 20


def real_directory(path: Path, mkdirs: Callable[[Path], None]) -> None:
    """Make ``path`` a real directory: a symbolic link (or file) in its place is removed,
    never followed."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        mkdirs(path)
        return
    if stat.S_ISDIR(st.st_mode):
        return
    os.unlink(path)
    mkdirs(path)


def empty_directory(directory: Path) -> None:
    """Delete what is in ``directory`` (never through a symbolic link)."""
    try:
        st = os.lstat(directory)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(directory)  # a link planted in place of a directory: the link only
        return
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(directory):
            remove_tree(Path(entry.path))


def remove_tree(path: Path) -> None:
    """Delete ``path``: a file or link is unlinked, a directory removed with everything
    in it; symbolic links are removed, never followed."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return
    import shutil  # noqa: PLC0415 - only after a killed run

    # shutil.rmtree removes the links inside, never what they point to.
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(path)


def same_file_system(root: Path, directory: Path) -> bool:
    """Whether a rename from ``directory`` into ``root`` can be atomic: the same device,
    and the root not a mount point of its own (a bind mount of the same file system
    has the same device, but renames across it fail)."""
    try:
        if os.stat(root).st_dev != os.stat(directory).st_dev:
            return False
    except OSError:
        return False
    real_root, real_dir = os.path.realpath(root), os.path.realpath(directory)
    return not os.path.ismount(real_root) or real_dir.startswith(real_root + os.sep)


def move(source: Path, destination: Path) -> None:
    try:
        os.replace(source, destination)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        import shutil  # noqa: PLC0415 - a move across file systems only

        shutil.move(source, destination)


def copy_new(source: str, path: str) -> str:
    """Copy ``source`` to a new file ``path``; return the sha256 of the bytes copied
    (hashed from the very chunks written, so a file changing meanwhile is seen)."""
    import hashlib  # noqa: PLC0415 - big files only

    hasher = hashlib.sha256()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with open(fd, "wb") as out, open(source, "rb") as src:
        while chunk := src.read(_CHUNK):
            hasher.update(chunk)
            out.write(chunk)
    return hasher.hexdigest()


def write_all(fd: int, data: bytes | memoryview) -> None:
    """Write all of ``data`` to ``fd`` (``os.write`` may write less than it is given)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def write_new(path: str, data: bytes, mode: int | None = None) -> tuple[int, int, int]:
    """Write a new file (with exactly ``mode``, if given, whatever the umask); return
    its (inode, size, mtime) as written."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        write_all(fd, data)
        st = os.fstat(fd)
    finally:
        os.close(fd)
    return st.st_ino, st.st_size, st.st_mtime_ns


class ChangedWhileCopied(Exception):
    """A source's bytes differ from the digest a run computed for them (it was written
    between the read that hashed it and the copy). Nothing may be published."""

    def __init__(self, source: str, relpath: str) -> None:
        super().__init__(source)
        self.source = source
        self.relpath = relpath

    def problem(self) -> Problem:
        return Problem(
            "changed-during-build",
            "this file changed while corral was copying it, so its copy would not match "
            "its hashed name, digest and integrity value; nothing was published",
            path=self.source,
            logical_path=self.relpath,
            hint="run again once whatever is writing the file has finished",
        )


def read_exactly(path: str, size: int, logical: str | None = None) -> bytes:
    """The bytes of the source file at ``path``, which the scan found ``size`` bytes long.

    Raises :class:`ChangedWhileRead` when it holds another number of bytes now: a record
    would pair one read's digest with another's size.
    """
    with open(path, "rb") as fh:
        data = fh.read()
    if len(data) != size:
        raise ChangedWhileRead(path, size, len(data), logical)
    return data


class ChangedWhileRead(Exception):
    """A source held a different number of bytes when it was read than when the sources
    were scanned: something is still writing it. Nothing may be published."""

    def __init__(self, source: str, scanned: int, read: int, logical: str | None = None) -> None:
        super().__init__(source)
        self.source = source
        self.scanned = scanned
        self.read = read
        self.logical = logical

    def problem(self, logical: str | None = None) -> Problem:
        return Problem(
            "changed-during-build",
            f"this file changed while corral was reading it ({self.scanned} bytes when the "
            f"sources were scanned, {self.read} when it was read): something is still "
            "writing it; nothing was published",
            path=self.source,
            logical_path=logical or self.logical,
            hint="run again once whatever is writing the file has finished",
        )


_GITIGNORE = b"# corral's private state: never commit or serve it\n*\n"


def entries(directory: Path) -> list[str]:
    try:
        return os.listdir(directory)
    except FileNotFoundError:
        return []


def fsync_dir(directory: Path) -> None:
    """Make a rename or a new entry in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def owned_dir(path: Path) -> bool:
    """Whether ``path`` is a real directory (not a link) holding corral's ``owner.json``."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode) and stat.S_ISREG(
            os.lstat(path / "owner.json").st_mode
        )
    except OSError:
        return False


def write_gitignore(path: Path) -> None:
    """Keep git out of the state directory. Written in place (no fsync: a torn one is
    seen and rewritten by the next run)."""
    try:
        if path.read_bytes() == _GITIGNORE:
            return
    except OSError:
        pass
    with contextlib.suppress(OSError):
        path.write_bytes(_GITIGNORE)
