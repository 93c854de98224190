"""Bring a cached variant into a target as a private, verified file.

The cache is shared by every project of a user (or a CI runner), so a variant in a
target never shares an inode with a cache entry: a hard link would let anything
that writes into one project's published file (a deploy script, a ``chmod`` by
``file_mode``, an editor) change every other project's file, and the cache's own
entry, at once. :func:`copy_verified` makes a new file instead:

- a **reflink** (``FICLONE``) where the file system has them (Btrfs, XFS, bcachefs,
  OpenZFS 2.2+): the copy shares the entry's blocks until either is written, so it
  costs no data copy and no extra space; it is then read once and its sha384
  checked;
- else a **copy** that hashes the bytes as it writes them: one read of the entry,
  one write, the sha384 checked on exactly the bytes written. (``copy_file_range``
  is not used: its bytes could not be hashed on the way, and checking them would
  take a second read.)

Either way the copy's sha384 must be the one in the entry's name (its integrity),
else :class:`StaleEntry` is raised and the copy removed: the caller discards the
entry and computes the variant again. A corrupt entry is never published.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading

from corral.compress.cache import integrity_of
from corral.guards import write_all

__all__ = ["FICLONE", "Copier", "StaleEntry", "copy_verified"]

#: ``ioctl(dest, FICLONE, source)``: ``_IOW(0x94, 9, int)`` on Linux.
FICLONE = 0x40049409
_CHUNK = 1 << 20

#: The identity of a file as written: (inode, size, mtime in ns).
Identity = tuple[int, int, int]


class StaleEntry(Exception):
    """The cache entry is gone, unreadable or not the bytes its name promises."""


def copy_verified(entry: str, dest: str, integrity: str, *, reflink: bool = True) -> bool:
    """Create ``dest`` (which must not exist) as a copy of the cache entry ``entry``
    whose bytes must have ``integrity``; return whether it was a reflink.

    Raises :class:`StaleEntry` (``dest`` removed) if the entry is missing or its
    bytes do not match, and ``OSError`` if ``dest`` can't be written.
    """
    copier = Copier(reflink=reflink)
    copier(entry, dest, integrity)
    return copier.cloned > 0


class Copier:
    """:func:`copy_verified` for many entries of one cache into one target: it stops
    trying reflinks after the first one the file systems refuse (ext4, tmpfs: one
    failing ``ioctl`` per run, not per file), reads into one reused buffer per thread,
    and returns each copy's identity (inode, size, mtime) so nobody ``stat``s it again.
    Safe to call from several threads."""

    def __init__(self, *, reflink: bool = True) -> None:
        self.reflink = reflink
        self.cloned = 0  # how many copies were reflinks (approximate under threads)
        self._local = threading.local()

    def __call__(self, entry: str, dest: str, integrity: str) -> Identity:
        """Copy ``entry`` to the new file ``dest`` and check its bytes (see
        :func:`copy_verified`); return the copy's identity."""
        try:
            src = os.open(entry, os.O_RDONLY)
        except OSError as exc:
            raise StaleEntry(f"can't open the cache entry: {exc.strerror or exc}") from exc
        try:
            dst = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            done = False
            try:
                if self.reflink and self._clone(src, dst):
                    found = _hash_fd(dest)
                else:
                    found = self._copy_hashing(src, dst)
                st = os.fstat(dst)
                done = True
            finally:
                os.close(dst)
                if not done:
                    with contextlib.suppress(OSError):
                        os.unlink(dest)
        finally:
            os.close(src)
        if found != integrity:
            with contextlib.suppress(OSError):
                os.unlink(dest)
            raise StaleEntry(f"the cache entry's bytes are {found}, not {integrity}")
        return st.st_ino, st.st_size, st.st_mtime_ns

    def _clone(self, src: int, dst: int) -> bool:
        try:
            import fcntl  # noqa: PLC0415 - POSIX only

            fcntl.ioctl(dst, FICLONE, src)
        except (ImportError, OSError):  # no reflinks here (ext4, tmpfs, another file system)
            self.reflink = False  # the same for every entry of this cache and target
            return False
        self.cloned += 1
        return True

    def _copy_hashing(self, src: int, dst: int) -> str:
        buffer: bytearray | None = getattr(self._local, "buffer", None)
        if buffer is None:
            buffer = self._local.buffer = bytearray(_CHUNK)
        whole = memoryview(buffer)
        hasher = hashlib.sha384()
        while True:
            try:
                count = os.readv(src, (buffer,))
            except OSError as exc:
                raise StaleEntry(f"can't read the cache entry: {exc.strerror or exc}") from exc
            if not count:
                break
            view = whole[:count]
            hasher.update(view)
            write_all(dst, view)
            if count < _CHUNK:
                break  # a short read of a regular file is its end (the hash checks the rest)
        return integrity_of(hasher.digest())


def _hash_fd(path: str) -> str:
    hasher = hashlib.sha384()
    fd = os.open(path, os.O_RDONLY)
    try:
        while chunk := os.read(fd, _CHUNK):
            hasher.update(chunk)
    finally:
        os.close(fd)
    return integrity_of(hasher.digest())
