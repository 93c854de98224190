"""Bring a cached variant into a target: a hard link where that is safe, else a
reflink, else a hashing copy; never bytes that do not match the entry's name.

A :class:`Placer` serves one run and one target:

- a **hard link** to the cache entry when the cache and the target are on one file
  system and the link's mode is the one a variant must have (below). The link is then
  read once and its sha384 checked against the one in the entry's name (a read, no
  write): a corrupt or tampered entry raises :class:`StaleEntry`, the link is removed
  and the caller discards the entry and computes the variant again;
- else a **reflink** (``FICLONE``: Btrfs, XFS, bcachefs, OpenZFS 2.2+), which shares
  the entry's blocks until either is written, read once and checked the same way;
- else a **copy** that hashes the bytes as it writes them (one read, one write, the
  sha384 checked on exactly the bytes written; ``copy_file_range`` is not used: its
  bytes could not be hashed on the way).

A hard link shares the inode, so nothing may ever change it through the target:

- **Mode.** A ``chmod`` of a link changes the cache entry and every other project's
  file. So corral never changes a linked file's mode: it links only when the entry
  already has the mode the variant must get — exactly ``file_mode`` when that is set,
  else the read bits a copy would get under this run's umask (entries are read-only,
  ``0o444`` less their writer's umask). An entry of another mode is copied, and the
  run stops trying links (one cache, one writer's umask: the same answer for all).
- **Failure once per run.** ``EXDEV`` (the cache on another file system, e.g. a
  container build's cache mount), ``EPERM`` (``fs.protected_hardlinks`` and another
  user's entry) or any other refusal switches the run to reflinks and copies after
  the first failing ``link``; ``EMLINK`` (an entry at its file system's link limit)
  copies that one entry only.
- **A private cache** (``cache = false``: a directory of this run, removed after it)
  is always linked and never read back: its entries were written by this run, and a
  ``file_mode`` is applied to the link (the entry is nobody else's).

What a hard link cannot rule out is a tool writing *into* a published file (not
replacing it): that writes into the cache entry and every project's file of those
bytes. Corral notices it (the file's mtime no longer matches the state, so the
next run re-checks it, finds the entry's bytes wrong, discards it and computes it
again), but other targets keep serving the changed bytes until their own next run.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
import threading
from collections.abc import Callable

from corral.compress.cache import integrity_of
from corral.guards import write_all

__all__ = ["FICLONE", "Copier", "Placer", "StaleEntry", "copy_verified"]

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
    gives each copy exactly ``mode`` if set, and returns each copy's identity (inode,
    size, mtime) so nobody ``stat``s it again. Safe to call from several threads."""

    def __init__(self, *, reflink: bool = True, mode: int | None = None) -> None:
        self.reflink = reflink
        self.mode = mode
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
                if self.mode is not None:
                    os.fchmod(dst, self.mode)  # exactly, whatever the umask
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
        return _read_hashing(self._local, src, dst)


class Placer:
    """Place cache entries into one target for one run: hard links where safe, else
    what a :class:`Copier` makes (see the module's description for the rules).

    ``private`` says the cache is this run's own (``cache = false``); ``link=False``
    never links. ``linker`` is :func:`os.link` (a seam for tests of refusals).
    Returns each placed file's identity; safe to call from several threads.
    """

    def __init__(
        self,
        *,
        mode: int | None = None,
        private: bool = False,
        link: bool = True,
        reflink: bool = True,
        linker: Callable[[str, str], None] = os.link,
    ) -> None:
        self.mode = mode
        self.private = private
        self.link = link
        self.copier = Copier(reflink=reflink, mode=mode)
        self.linked = 0  # how many files were hard links (approximate under threads)
        self.refusal: str | None = None  # why links stopped for this run, if they did
        self._linker = linker
        self._wanted: int | None = None  # the mode a shared entry must have to be linked
        self._lock = threading.Lock()
        self._local = threading.local()

    def __call__(self, entry: str, dest: str, integrity: str) -> Identity:
        """Create ``dest`` (which must not exist) with the bytes of ``entry``, which must
        have ``integrity``; raise :class:`StaleEntry` (``dest`` removed) if they do not."""
        if self.link:
            made = self._link(entry, dest, integrity)
            if made is not None:
                return made
        return self.copier(entry, dest, integrity)

    def _link(self, entry: str, dest: str, integrity: str) -> Identity | None:
        """A verified hard link, or None when this entry must be copied instead."""
        wanted = self._wanted_mode(dest)
        try:
            self._linker(entry, dest)
        except FileNotFoundError as exc:
            if os.path.isdir(os.path.dirname(dest)):
                raise StaleEntry(f"the cache entry is gone: {exc.strerror or exc}") from exc
            raise
        except OSError as exc:
            if exc.errno == errno.EMLINK:
                return None  # this entry has all the links its file system allows
            if exc.errno == errno.EEXIST:
                raise
            self._stop(exc.strerror or str(exc))  # EXDEV, EPERM, ...: the same for the rest
            return None
        try:
            if self.private:
                if self.mode is not None:
                    os.chmod(dest, self.mode)  # this run's own entry: nobody else's inode
                st: os.stat_result | None = os.lstat(dest)
            else:
                st = self._verify(dest, integrity, wanted)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(dest)
            raise
        if st is None:  # not the mode wanted: copied instead
            return None
        self.linked += 1
        return st.st_ino, st.st_size, st.st_mtime_ns

    def _verify(self, dest: str, integrity: str, wanted: int | None) -> os.stat_result | None:
        """Check a link to a shared entry: None (and links stop) if its mode is not
        ``wanted``; :class:`StaleEntry` if its bytes do not have ``integrity``."""
        fd = os.open(dest, os.O_RDONLY)
        try:
            st = os.fstat(fd)
            mode = stat.S_IMODE(st.st_mode)
            if wanted is not None and mode != wanted:
                self._stop(f"cache entries have mode {mode:o}, variants must have {wanted:o}")
                os.unlink(dest)
                return None
            found = _read_hashing(self._local, fd)
        finally:
            os.close(fd)
        if found != integrity:
            raise StaleEntry(f"the cache entry's bytes are {found}, not {integrity}")
        return st

    def _wanted_mode(self, dest: str) -> int | None:
        """The mode a linked shared entry must have (None: any, a private cache); found
        once per run, the first time, by creating ``dest`` as a copy would."""
        if self.private:
            return None
        if self.mode is not None:
            return self.mode
        if self._wanted is not None:
            return self._wanted
        with self._lock:
            if self._wanted is None:
                fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                try:
                    self._wanted = stat.S_IMODE(os.fstat(fd).st_mode) & 0o444
                finally:
                    os.close(fd)
                    os.unlink(dest)
            return self._wanted

    def _stop(self, why: str) -> None:
        self.link = False
        if self.refusal is None:
            self.refusal = why


def _read_hashing(local: threading.local, src: int, dst: int | None = None) -> str:
    """Read ``src`` to its end into the thread's reused buffer, writing each chunk to
    ``dst`` if given; return the integrity of the bytes read. An entry that can't be
    read is a :class:`StaleEntry`."""
    buffer: bytearray | None = getattr(local, "buffer", None)
    if buffer is None:
        buffer = local.buffer = bytearray(_CHUNK)
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
        if dst is not None:
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
