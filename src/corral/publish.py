"""Writing into a local target directory: stage, then rename into place.

Every file is first written (or hard-linked, when this run already staged the same
content) under a temporary name in the state directory's ``tmp/`` — outside the root,
where no web server looks (or, when the state is on another file system, in a
directory inside the root that exists only during the run) — and only after *every*
file of the run has been staged without error are they renamed into place, one atomic
``rename(2)`` each. A reader sees the old file or the new one, never a partial one; a
failed or killed run leaves the live files as they were, plus leftovers that the next
run removes.

A first run into an empty root stages the whole release as a tree instead
(``<staging>/tree-*/<path>``, see :meth:`LocalTarget.begin_tree`) and
renames its top-level entries into place: the same guarantees (nothing partial
and no leftover is ever visible; the manifests still come last) with a handful
of renames instead of one per file.

Data files are not fsynced one by one (that would cost milliseconds per file);
each run instead checks every published file's on-disk identity against the state
and rewrites any that is missing or altered, so a torn file after a power cut is
repaired by the next run. The state and release records *are* fsynced.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import stat
import threading
from collections.abc import Callable, Mapping, Set
from pathlib import Path
from typing import NamedTuple

from corral.errors import Problem, TargetError
from corral.guards import VCS_DIRS, ChangedWhileCopied, copy_new
from corral.state import LEGACY_DIR, STAGING_DIR, StateDir, TargetRecord

__all__ = [
    "SRI_ALGORITHMS",
    "Digests",
    "LocalTarget",
    "Staged",
    "digest_file",
    "sri_value",
    "write_new",
]

#: Files up to this size are read in one call and hashed in memory; larger ones stream.
WHOLE_READ_LIMIT = 8 << 20
_CHUNK = 1 << 20


class Staged(NamedTuple):
    """A file ready to be renamed into place at ``relpath``.

    (A named tuple, as :class:`Digests` and the state's records: one is made for
    every file a run writes, and a tuple is made several times faster than a frozen
    dataclass.)
    """

    relpath: str
    tmp: str
    digest: str
    identity: tuple[int, int, int] | None = None  # (inode, size, mtime) if known when written


class Digests(NamedTuple):
    """A file's sha256 (always), and md5 and SRI integrity (when fingerprinting)."""

    sha256: str
    md5: str | None = None
    integrity: str | None = None


#: The Subresource Integrity algorithms corral writes (browsers support all three).
SRI_ALGORITHMS = ("sha256", "sha384", "sha512")


def sri_value(algorithm: str, digest: bytes) -> str:
    """The SRI string (``sha256-<base64>``) of a raw ``digest`` made by ``algorithm``."""
    import base64  # noqa: PLC0415

    return f"{algorithm}-{base64.b64encode(digest).decode('ascii')}"


def digest_file(
    path: str, *, sri: str | None = None, size: int | None = None
) -> tuple[Digests, bytes | None]:
    """Hash a file in one read; return its digests, and its bytes when it is small.

    With ``sri`` (one of :data:`SRI_ALGORITHMS`: the run fingerprints), also the md5
    (Django's hashed names) and the SRI integrity, so fingerprinting never has to read
    an unchanged file again. A ``sha256`` integrity is the content digest itself: it
    costs nothing more.

    ``size`` is the size the scan saw, which spares a ``stat``; whatever the file holds
    when it is read is what is hashed and returned, also if it has changed since.
    """
    # Imported here (cached after the first call): a no-change run reads no file.
    import hashlib  # noqa: PLC0415

    hashers = [hashlib.sha256()]
    if sri is not None:
        hashers.append(hashlib.md5(usedforsecurity=False))
        if sri != "sha256":
            hashers.append(hashlib.new(sri))
    data: bytes | None = None
    fd = os.open(path, os.O_RDONLY)  # unbuffered: one read for a small file, no io objects
    try:
        if size is None:
            size = os.fstat(fd).st_size
        if size <= WHOLE_READ_LIMIT:
            data = os.read(fd, size + 1)
            if len(data) != size:
                # It has grown or shrunk since its size was taken (or the file system
                # gave a short read): read on to the end. Exactly ``size`` bytes, the
                # usual case, needs no second read to find the end.
                parts = [data]
                while parts[-1]:
                    parts.append(os.read(fd, _CHUNK))
                data = b"".join(parts)
            for hasher in hashers:
                hasher.update(data)
        else:
            while chunk := os.read(fd, _CHUNK):
                for hasher in hashers:
                    hasher.update(chunk)
    finally:
        os.close(fd)
    if sri is None:
        return Digests(hashers[0].hexdigest()), data
    integrity = sri_value(sri, (hashers[2] if sri != "sha256" else hashers[0]).digest())
    return Digests(hashers[0].hexdigest(), hashers[1].hexdigest(), integrity), data


class LocalTarget:
    """The target directory (STATIC_ROOT) on the local file system."""

    def __init__(
        self,
        root: Path,
        *,
        file_mode: int | None = None,
        dir_mode: int | None = None,
        state_dir: Path | None = None,
    ) -> None:
        self.root = root
        self.file_mode = file_mode  # exact permissions of published files (else 0o644 & ~umask)
        self.dir_mode = dir_mode  # exact permissions of directories corral creates
        self.state_dir = StateDir(root, state_dir)
        self._root_str = str(root)
        self._counter = itertools.count(1)
        self._token = os.urandom(4).hex()  # two runs in one process never share a name
        self._twins_lock = threading.Lock()
        self._staged_by_digest: dict[str, str] = {}
        self.linked = 0  # files staged as hard links to a twin rather than written
        self._known_dirs: set[str] = set()
        self._confined_dirs: dict[str, bool] = {}  # directory -> a real one of the root
        self._real_root: str | None = None
        self._tree: str | None = None  # staging tree of a first run (see begin_tree)
        self._claimed: set[str] = set()  # relpaths staged in the tree
        self._tree_dirs: set[str] = set()

    # --- inspection ---------------------------------------------------------------------

    def path_of(self, relpath: str) -> str:
        return f"{self._root_str}/{relpath}"

    def intact_files(self, records: Mapping[str, TargetRecord], links: Set[str]) -> set[str]:
        """The files of ``records`` still exactly as corral wrote them: same inode, size
        and mtime, and a regular file (a symbolic link for those in ``links``).

        One loop with local names: every run checks every published file.
        """
        lstat, root = os.lstat, f"{self._root_str}/"
        found: set[str] = set()
        for relpath, record in records.items():
            try:
                st = lstat(root + relpath)
            except OSError:
                continue
            if (
                st.st_ino == record.ino
                and st.st_size == record.size
                and st.st_mtime_ns == record.mtime_ns
                and (stat.S_ISLNK(st.st_mode) if relpath in links else stat.S_ISREG(st.st_mode))
            ):
                found.add(relpath)
        return found

    # --- staging ------------------------------------------------------------------------

    def stage(self, relpath: str, source: str, digest: str, data: bytes | None) -> Staged:
        """Write ``source``'s content to a temporary file (or link a staged twin).

        ``data`` is the content read when ``digest`` was computed (small files); without
        it the file is copied and the copy checked against ``digest``: a mismatch raises
        :class:`ChangedWhileCopied`, so a published file always matches its digest.
        """
        tmp = self._tmp_name(relpath)
        with self._twins_lock:  # staging runs on several threads
            twin = self._staged_by_digest.get(digest)
            self.linked += twin is not None
        identity = None
        try:
            if twin is not None:
                os.link(twin, tmp)
            elif data is not None:
                identity = write_new(tmp, data, self.file_mode)
            elif copy_new(source, tmp) != digest:
                # The bytes copied are not the bytes hashed: the file changed in between.
                os.unlink(tmp)
                raise ChangedWhileCopied(source, relpath)
        except OSError as exc:
            raise self._write_error(exc, relpath) from exc
        if twin is None:
            # Registered only once the file exists, so a twin can always link to it.
            # (Two threads staging the same content at once both write it: harmless.)
            with self._twins_lock:
                self._staged_by_digest.setdefault(digest, tmp)
        return Staged(relpath, tmp, digest, identity)

    def stage_bytes(self, relpath: str, data: bytes, digest: str) -> Staged:
        """Write generated bytes (a rewritten file, a manifest) to a temporary file."""
        tmp = self._tmp_name(relpath)
        try:
            identity = write_new(tmp, data, self.file_mode)
        except OSError as exc:
            raise self._write_error(exc, relpath) from exc
        with self._twins_lock:
            self._staged_by_digest.setdefault(digest, tmp)
        return Staged(relpath, tmp, digest, identity)

    def stage_symlink(self, relpath: str, source: str, digest: str) -> Staged:
        """Stage a symbolic link to a source file (``--link``); never a twin of a copy."""
        return self._stage_entry(os.symlink, source, relpath, digest)

    def stage_link(self, relpath: str, entry: str, digest: str) -> Staged:
        """Stage a hard link to a file inside the target (a compression cache entry)."""
        return self._stage_entry(os.link, entry, relpath, digest)

    def stage_with(
        self, make: Callable[[str, str], object], existing: str, relpath: str, digest: str
    ) -> Staged:
        """Stage the file ``make(existing, tmp)`` creates (a verified copy of a cache
        entry, a hard link to a file staged earlier)."""
        return self._stage_entry(make, existing, relpath, digest)

    def _stage_entry(
        self, make: Callable[[str, str], object], existing: str, relpath: str, digest: str
    ) -> Staged:
        """Stage a new directory entry ``make(existing, tmp)`` makes (a link of either kind)."""
        tmp = self._tmp_name(relpath)
        try:
            try:
                make(existing, tmp)
            except OSError as exc:
                if exc.errno != errno.EXDEV or make is not os.link:
                    raise
                copy_new(existing, tmp)  # on another file system: copy it
        except OSError as exc:
            raise self._write_error(exc, relpath) from exc
        return Staged(relpath, tmp, digest)

    def _tmp_name(self, relpath: str) -> str:
        return self.tree_path(relpath) or self._flat_name()

    def tree_path(self, relpath: str) -> str | None:
        """Claim ``relpath``'s place in a first run's staging tree (its directory made);
        ``None`` when there is no tree or the place is taken."""
        if self._tree is None:
            return None
        with self._twins_lock:
            fresh = relpath not in self._claimed
            self._claimed.add(relpath)
        if not fresh:
            return None
        path = f"{self._tree}/{relpath}"
        parent = path.rpartition("/")[0]
        if parent not in self._tree_dirs:
            try:
                self._makedirs(parent)
            except OSError as exc:
                raise self._write_error(exc, relpath) from exc
            self._tree_dirs.add(parent)
        return path

    def register(self, staged: Staged) -> None:
        """Make a file staged elsewhere (by a worker process) a twin later files can link."""
        with self._twins_lock:
            self._staged_by_digest.setdefault(staged.digest, staged.tmp)

    def _flat_name(self) -> str:
        return f"{self.state_dir.staging}/{os.getpid()}-{self._token}-{next(self._counter)}"

    # --- a first run: the release staged as a tree ----------------------------------------

    def begin_tree(self) -> None:
        """Stage this run's files at their paths under one staging directory.

        For a root with nothing published in it (a first run): :meth:`commit_tree` then
        moves whole top-level directories into place.
        """
        tree = f"{self.state_dir.staging}/tree-{os.getpid()}-{self._token}"
        os.mkdir(tree)
        self._tree = tree

    @property
    def staging_tree(self) -> bool:
        """Whether this run stages a tree (a first run into an empty root)."""
        return self._tree is not None

    def in_tree(self, staged: Staged) -> bool:
        return self._tree is not None and staged.tmp.startswith(self._tree + "/")

    def record(self, staged: Staged) -> TargetRecord:
        """The record a staged file in the tree will have once its directory is in place
        (a rename keeps inode, size and mtime); sets its exact mode first."""
        try:
            if staged.identity is not None:  # written with its mode by write_new
                ino, size, mtime_ns = staged.identity
                return TargetRecord(staged.digest, ino, size, mtime_ns)
            if self.file_mode is not None and not os.path.islink(staged.tmp):
                os.chmod(staged.tmp, self.file_mode)
            st = os.lstat(staged.tmp)
        except OSError as exc:
            raise self._write_error(exc, staged.relpath) from exc
        return TargetRecord(staged.digest, st.st_ino, st.st_size, st.st_mtime_ns)

    def out_of_tree(self, staged: Staged) -> Staged:
        """Move a staged file out of the tree, to be committed on its own (after it)."""
        if not self.in_tree(staged):
            return staged
        tmp = self._flat_name()
        try:
            os.replace(staged.tmp, tmp)
        except OSError as exc:
            raise self._write_error(exc, staged.relpath) from exc
        return Staged(staged.relpath, tmp, staged.digest, staged.identity)

    def end_tree(self) -> None:
        """Remove the (now empty) staging tree; anything left is the next run's to clean."""
        if self._tree is not None:
            with contextlib.suppress(OSError):
                os.rmdir(self._tree)
            self._tree = None

    def commit_tree(self) -> None:
        """Rename the tree's top-level entries into the root."""
        assert self._tree is not None
        try:
            entries = sorted(entry.name for entry in os.scandir(self._tree))
        except OSError as exc:
            raise TargetError(f"can't read {self._tree}: {exc.strerror}", path=self._tree) from exc
        for name in entries:
            try:
                os.replace(f"{self._tree}/{name}", self.path_of(name))
            except OSError as exc:
                raise self._write_error(exc, name) from exc

    def _write_error(self, exc: OSError, relpath: str) -> TargetError:
        if exc.errno == errno.ENOSPC:
            what, hint = "the disk is full", "free some space and run again"
        elif exc.errno == errno.EROFS:
            what, hint = (
                "the file system is read-only",
                "remount it read-write or pick another root",
            )
        elif exc.errno in (errno.EACCES, errno.EPERM):
            what, hint = "permission denied", "run as a user that may write to the target"
        elif exc.errno == errno.ENAMETOOLONG:
            what, hint = (
                "the name is too long for the target's file system",
                "shorten the source file's name (or its hashed name's stem)",
            )
        elif exc.errno == errno.EDQUOT:
            what, hint = "the disk quota is exceeded", "free some space and run again"
        else:
            what, hint = exc.strerror or str(exc), "fix the target directory and run again"
        return TargetError(
            f"can't write {relpath!r} into {self.root}: {what}; nothing was published",
            path=self.path_of(relpath),
            hint=hint,
        )

    # --- checks before publishing -------------------------------------------------------

    def obstacles(
        self,
        relpaths: list[str],
        owned: dict[str, TargetRecord],
        keep: set[str],
        *,
        force: bool = False,
    ) -> tuple[list[str], list[Problem]]:
        """Find what stands where new files must go.

        Returns paths that must be removed first (an old release's file where a
        directory must now be, or an old directory where a file must now be) and
        problems for anything corral does not own standing in the way — unless
        ``force``, which lets corral replace those too.
        """

        def replaceable(path: str) -> bool:
            return force or (path in owned and path not in keep)

        removals: list[str] = []
        problems: list[Problem] = []
        checked: set[str] = set()
        for relpath in relpaths:
            parts = relpath.split("/")
            for depth in range(1, len(parts)):
                parent = "/".join(parts[:depth])
                if parent in checked:
                    continue
                checked.add(parent)
                try:
                    st = os.lstat(self.path_of(parent))
                except FileNotFoundError:
                    break
                if stat.S_ISDIR(st.st_mode):
                    continue
                if replaceable(parent):
                    removals.append(parent)
                else:
                    problems.append(_in_the_way(self.path_of(parent), relpath))
                break
            try:
                st = os.lstat(self.path_of(relpath))
            except (FileNotFoundError, NotADirectoryError):
                continue
            if stat.S_ISDIR(st.st_mode):
                inside = self._files_under(relpath)
                if all(replaceable(p) for p in inside):
                    removals.extend(inside)
                else:
                    problems.append(_in_the_way(self.path_of(relpath), relpath))
            elif relpath not in owned and not force:
                problems.append(_in_the_way(self.path_of(relpath), relpath))
        return removals, problems

    def _files_under(self, relpath: str) -> list[str]:
        found: list[str] = []
        for dirpath, _dirs, files in os.walk(self.path_of(relpath)):
            rel_dir = os.path.relpath(dirpath, self._root_str).replace(os.sep, "/")
            found.extend(f"{rel_dir}/{name}" for name in files)
        return found

    # --- publishing ---------------------------------------------------------------------

    def commit(self, staged: Staged) -> TargetRecord:
        """Rename a staged file into place and return its on-disk record."""
        final = self.path_of(staged.relpath)
        parent = final.rpartition("/")[0]
        try:
            if parent not in self._known_dirs:
                self._makedirs(parent)
                self._known_dirs.add(parent)
            if (
                self.file_mode is not None
                and staged.identity is None  # else written with its mode by write_new
                and not os.path.islink(staged.tmp)
            ):
                os.chmod(staged.tmp, self.file_mode)
            os.replace(staged.tmp, final)
            if staged.identity is not None:  # a rename keeps inode, size and mtime
                ino, size, mtime_ns = staged.identity
                return TargetRecord(staged.digest, ino, size, mtime_ns)
            st = os.lstat(final)
        except OSError as exc:
            raise self._write_error(exc, staged.relpath) from exc
        return TargetRecord(staged.digest, st.st_ino, st.st_size, st.st_mtime_ns)

    def _makedirs(self, path: str) -> None:
        if self.dir_mode is None:
            os.makedirs(path, exist_ok=True)
            return
        missing: list[str] = []
        while not os.path.isdir(path):
            missing.append(path)
            path = os.path.dirname(path)
        for directory in reversed(missing):
            try:
                os.mkdir(directory)
            except FileExistsError:
                continue  # made meanwhile (another thread)
            os.chmod(directory, self.dir_mode)  # exactly, whatever the umask

    def remove(self, relpaths: list[str]) -> list[str]:
        """Delete files, then any directory this left empty; return what was deleted."""
        removed: list[str] = []
        parents: set[str] = set()
        for relpath in relpaths:
            if not self.confined(relpath):
                continue  # outside the root, or through a symbolic link: never
            path = self.path_of(relpath)
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            except IsADirectoryError:
                continue
            except OSError as exc:
                raise self._write_error(exc, relpath) from exc
            removed.append(relpath)
            if "/" in relpath:
                parents.add(relpath.rpartition("/")[0])
        self._remove_empty_dirs(parents)
        return removed

    def confined(self, relpath: str) -> bool:
        """Whether deleting ``relpath`` deletes inside the root: a plain relative path
        (no ``..``, no absolute path) whose directories are real directories of the root,
        not symbolic links to elsewhere."""
        parts = relpath.split("/")
        if not relpath or any(part in ("", ".", "..") for part in parts) or "\0" in relpath:
            return False
        parent = relpath.rpartition("/")[0]
        if not parent:
            return True
        known = self._confined_dirs.get(parent)
        if known is None:
            if self._real_root is None:
                self._real_root = os.path.realpath(self._root_str)
            real = os.path.realpath(self.path_of(parent))
            known = self._confined_dirs[parent] = real == f"{self._real_root}/{parent}"
        return known

    def _remove_empty_dirs(self, parents: set[str]) -> None:
        # Deepest first, so a directory emptied by removing its children goes too.
        pending = set(parents)
        for relpath in sorted(parents, key=lambda p: p.count("/"), reverse=True):
            current = relpath
            while current and current in pending:
                pending.discard(current)
                try:
                    os.rmdir(self.path_of(current))
                except OSError:
                    break  # not empty (or already gone): stop climbing
                self._known_dirs.discard(self.path_of(current))
                current = current.rpartition("/")[0]
                if current:
                    pending.add(current)

    def discard_staged(self) -> None:
        """Remove this run's temporary files (after an error)."""
        self._staged_by_digest.clear()
        self.state_dir.clean_tmp()

    def unowned_files(self, owned: dict[str, TargetRecord]) -> list[str]:
        """Files in the root that corral did not write (its staging directory aside, and
        the state directory of the old layout until a run moves it out)."""
        found: list[str] = []
        own = {STAGING_DIR, LEGACY_DIR} if self.state_dir.legacy else {STAGING_DIR}
        for dirpath, dirs, files in os.walk(self._root_str):
            rel_dir = os.path.relpath(dirpath, self._root_str).replace(os.sep, "/")
            if rel_dir == ".":
                dirs[:] = [d for d in dirs if d not in own]
                rel_dir = ""
            else:
                rel_dir += "/"
            # A version-control directory is never corral's to delete, even with --force.
            dirs[:] = [d for d in dirs if d not in VCS_DIRS]
            # A link to a directory is listed (the link, never what it points to).
            links = [d for d in dirs if os.path.islink(os.path.join(dirpath, d))]
            found.extend(rel_dir + name for name in (*files, *links) if rel_dir + name not in owned)
        return sorted(found)


def write_new(path: str, data: bytes, mode: int | None = None) -> tuple[int, int, int]:
    """Write a new file (with exactly ``mode``, if given, whatever the umask); return
    its (inode, size, mtime) as written."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        st = os.fstat(fd)
    finally:
        os.close(fd)
    return st.st_ino, st.st_size, st.st_mtime_ns


def _in_the_way(path: str, relpath: str) -> Problem:
    return Problem(
        "target-obstacle",
        f"{path} is in the way of {relpath!r} and corral did not create it",
        path=path,
        hint="move it out of the target (files are never put there by hand), "
        "or run with --force to replace it",
    )
