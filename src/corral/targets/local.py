"""The local target: a directory, written by staging every file then renaming it into place.

Every file is first written (or hard-linked, when this run already staged the same
content) under a temporary name in the state directory's ``tmp/`` — outside the root,
where no web server looks (or, when the state is on another file system, in a
directory inside the root that exists only during the run) — and only after *every*
file of the run has been staged without error are they renamed into place, one atomic
``rename(2)`` each. A reader sees the old file or the new one, never a partial one; a
failed or killed run leaves the live files as they were, plus leftovers that the next
run removes.

A first run into an empty root stages the whole release as a tree instead
(``<staging>/tree-*/<path>``, see :meth:`LocalTarget._begin_tree`) and
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
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence, Set
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, cast

from corral.durable import write_durably
from corral.errors import OwnershipError, Problem, TargetError
from corral.guards import VCS_DIRS, ChangedWhileCopied, copy_new, write_new
from corral.lock import TargetLock
from corral.records import TargetTable, identities
from corral.state import LEGACY_DIR, STAGING_DIR, StateDir, TargetRecord
from corral.targets.base import Staged
from corral.targets.localroot import check_ownership, guard_root, in_the_way, write_error

if TYPE_CHECKING:
    from corral.config import Config
    from corral.sources import ResolvedSource

Id = tuple[int, int, int] | None  # a staged file's (inode, size, mtime), if known

__all__ = ["LocalTarget"]


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
        self._config: Config | None = None  # for the root guards (see for_config)
        self._root_str = str(root)
        self._counter = itertools.count(1)
        self._token = os.urandom(4).hex()  # two runs in one process never share a name
        self._twins_lock = threading.Lock()
        self._staged_by_digest: dict[str, str] = {}
        self.linked = 0  # files staged as hard links to a twin rather than written
        self._known_dirs: set[str] = set()
        self._confined_dirs: dict[str, bool] = {}  # directory -> a real one of the root
        self._real_root: str | None = None
        self._tree: str | None = None  # staging tree of a first run (see _begin_tree)
        self._claimed: set[str] = set()  # relpaths staged in the tree
        self._tree_dirs: set[str] = set()

    @classmethod
    def for_config(cls, config: Config) -> LocalTarget:
        """The target a run configured by ``config`` publishes to."""
        target = cls(
            config.root,
            file_mode=config.file_mode,
            dir_mode=config.dir_mode,
            state_dir=config.state_dir,
        )
        target._config = config
        return target

    @property
    def state(self) -> StateDir:
        return self.state_dir

    # --- a run's life: guards, the lock, staging ------------------------------------------

    def usable(self, sources: Sequence[ResolvedSource], *, force: bool) -> bool:
        """Refuse a root corral may not use (see :func:`guard_root`, :func:`check_ownership`);
        return whether it holds nothing yet."""
        if self._config is not None:
            guard_root(self._config, sources)
        return check_ownership(self.root, self.state_dir, force=force)

    def require_owned(self) -> None:
        """Refuse a root corral does not own: it only prunes directories it created."""
        if not self.state_dir.owned():
            raise OwnershipError(
                f"{self.root} is not a directory corral owns (no ownership marker in "
                f"{self.state_dir.home})",
                path=str(self.root),
                hint="corral only prunes directories it created; run 'corral collect' first",
            )

    @contextmanager
    def locked(self, *, wait: float) -> Iterator[Problem | None]:
        """Hold the root's lock (an older corral's state directory is moved out of the
        root meanwhile: the notice it yields says so)."""
        self.state_dir.prepare_lock()
        with TargetLock(self.state_dir.lock_file, self.root, wait=wait):
            yield self.state_dir.migrate(wait=wait)

    @contextmanager
    def writing(self, *, force: bool) -> Iterator[bool]:
        """Under the lock: check ownership again (a concurrent first run may have taken the
        root meanwhile), make the state directory, clear a killed run's leftovers, and
        stage a tree when the root is empty; yield whether it is. Staging is tidied on exit."""
        fresh = check_ownership(self.root, self.state_dir, force=force)
        self.state_dir.create()
        self.state_dir.clean_tmp()
        try:
            if fresh:
                self._begin_tree()
            yield fresh
        finally:
            self._end_tree()
            self.state_dir.end_staging()

    def scratch(self) -> Path:
        """A private directory for temporary files, on the state's file system."""
        self.state_dir.tmp.mkdir(parents=True, exist_ok=True)
        return self.state_dir.tmp

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
        for relpath, ino, size, mtime_ns in identities(records):  # no record made per file
            try:
                st = lstat(root + relpath)
            except OSError:
                continue
            if (st.st_ino, st.st_size, st.st_mtime_ns) == (ino, size, mtime_ns) and (
                stat.S_ISLNK(st.st_mode) if relpath in links else stat.S_ISREG(st.st_mode)
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

    def stage_with(
        self, make: Callable[[str, str], object], existing: str, relpath: str, digest: str
    ) -> Staged:
        """Stage the file ``make(existing, tmp)`` creates with its final mode (a cache
        entry placed by :class:`~corral.compress.place.Placer`: maybe a hard link to
        it); the identity ``make`` returns, if any, is trusted (not ``stat``ed) and the
        file is never ``chmod``ed."""
        return self._stage_entry(make, existing, relpath, digest)

    def stage_twin(self, relpath: str, staged: str, digest: str, identity: Id = None) -> Staged:
        """Stage ``relpath`` with the bytes of ``staged``, a file this run staged
        (a hard link to it, of its ``identity`` if known; a copy across file systems)."""
        return self._stage_entry(os.link, staged, relpath, digest, identity)

    def _stage_entry(
        self, make: Callable[[str, str], object], existing: str, relpath: str, digest: str,
        linked: Id = None,
    ) -> Staged:  # fmt: skip
        """Stage a new directory entry ``make(existing, tmp)`` makes (a link, a copy)."""
        tmp = self._tmp_name(relpath)
        try:
            try:
                made = make(existing, tmp)
            except OSError as exc:
                if exc.errno != errno.EXDEV or make is not os.link:
                    raise
                copy_new(existing, tmp)  # on another file system: copy it
                made = linked = None
            made = cast(Id, made) if isinstance(made, tuple) else None
            # A link: the same inode. ``make`` gave its file the mode (a hard link to a
            # cache entry must never be chmod'ed: that would change the shared inode).
            identity = linked if make is os.link else made
        except OSError as exc:
            raise self._write_error(exc, relpath) from exc
        return Staged(relpath, tmp, digest, identity)

    def _tmp_name(self, relpath: str) -> str:
        return self._tree_path(relpath) or self._flat_name()

    def _tree_path(self, relpath: str) -> str | None:
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

    def adopt(self, staged: Staged) -> None:
        """Take a file a worker process wrote at a place :meth:`direct_places` gave: a
        twin later files can link."""
        with self._twins_lock:
            self._staged_by_digest.setdefault(staged.digest, staged.tmp)

    def _flat_name(self) -> str:
        return f"{self.state_dir.staging}/{os.getpid()}-{self._token}-{next(self._counter)}"

    # --- a first run: the release staged as a tree ----------------------------------------

    def _begin_tree(self) -> None:
        """Stage this run's files at their paths under one staging directory.

        For a root with nothing published in it (a first run): :meth:`_commit_tree` then
        moves whole top-level directories into place.
        """
        tree = f"{self.state_dir.staging}/tree-{os.getpid()}-{self._token}"
        os.mkdir(tree)
        self._tree = tree

    @property
    def writes_directly(self) -> bool:
        """Whether other processes may write this run's files at their places in the
        staging tree (a first run into an empty root: see :meth:`direct_places`)."""
        return self._tree is not None

    def direct_places(self, relpaths: Iterable[str]) -> Iterator[tuple[str, str]]:
        """The staging tree's places for ``relpaths`` (claimed, their directories made as
        they are taken), skipping any already taken; none without a tree."""
        for relpath in relpaths:
            tmp = self._tree_path(relpath)
            if tmp is not None:
                yield relpath, tmp

    def _in_tree(self, staged: Staged) -> bool:
        return self._tree is not None and staged.tmp.startswith(self._tree + "/")

    def _record(self, staged: Staged) -> TargetRecord:
        """The record a staged file in the tree will have once its directory is in place
        (a rename keeps inode, size and mtime); sets its exact mode first."""
        try:
            if staged.identity is not None:  # written with its mode by write_new
                return TargetRecord(staged.digest, *staged.identity)
            if self.file_mode is not None and not os.path.islink(staged.tmp):
                os.chmod(staged.tmp, self.file_mode)
            st = os.lstat(staged.tmp)
        except OSError as exc:
            raise self._write_error(exc, staged.relpath) from exc
        return TargetRecord(staged.digest, st.st_ino, st.st_size, st.st_mtime_ns)

    def _out_of_tree(self, staged: Staged) -> Staged:
        """Move a staged file out of the tree, to be committed on its own (after it)."""
        if not self._in_tree(staged):
            return staged
        tmp = self._flat_name()
        try:
            os.replace(staged.tmp, tmp)
        except OSError as exc:
            raise self._write_error(exc, staged.relpath) from exc
        return Staged(staged.relpath, tmp, staged.digest, staged.identity)

    def _end_tree(self) -> None:
        """Remove the (now empty) staging tree; anything left is the next run's to clean."""
        if self._tree is not None:
            with contextlib.suppress(OSError):
                os.rmdir(self._tree)
            self._tree = None

    def _commit_tree(self) -> None:
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
        return write_error(exc, relpath, self.root, self.path_of(relpath))

    # --- checks before publishing -------------------------------------------------------

    def obstacles(
        self,
        relpaths: list[str],
        owned: Mapping[str, TargetRecord],
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
        if not owned and self._tree is not None:
            return [], []  # a first run into an empty root: nothing can stand in the way

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
                    problems.append(in_the_way(self.path_of(parent), relpath))
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
                    problems.append(in_the_way(self.path_of(relpath), relpath))
            elif relpath not in owned and not force:
                problems.append(in_the_way(self.path_of(relpath), relpath))
        return removals, problems

    def _files_under(self, relpath: str) -> list[str]:
        found: list[str] = []
        for dirpath, _dirs, files in os.walk(self.path_of(relpath)):
            rel_dir = os.path.relpath(dirpath, self._root_str).replace(os.sep, "/")
            found.extend(f"{rel_dir}/{name}" for name in files)
        return found

    # --- publishing ---------------------------------------------------------------------

    def placed_record(self, staged: Staged) -> TargetRecord | None:
        """A file's record if staged in a first run's tree with its identity (see _record)."""
        if staged.identity is None or not self._in_tree(staged):
            return None
        return TargetRecord(staged.digest, *staged.identity)

    def place(
        self, files: Iterable[Staged], last: Sequence[Staged],
        known: MutableMapping[str, TargetRecord] | None = None,
    ) -> MutableMapping[str, TargetRecord]:  # fmt: skip
        """Rename every staged file into place, ``files`` then ``last`` (the manifests).

        A first run staged a tree: whole top-level directories go into place at once (and
        the files of ``known``), then the manifests (and anything staged outside the tree)
        one by one. The records (packed as made) go into ``known`` when given.
        """
        records = TargetTable() if known is None else known
        last = [self._out_of_tree(s) for s in last]
        singles: list[Staged] = []
        tree = bool(records)
        for staged in files:
            if self._in_tree(staged):
                records[staged.relpath] = self._record(staged)
                tree = True
            else:
                singles.append(staged)
        if tree and self._tree is not None:
            self._commit_tree()
        for staged in (*singles, *last):
            records[staged.relpath] = self._commit(staged)
        self._staged_by_digest.clear()  # staging is over: forget the temporary names
        self._claimed.clear()
        return records

    def _commit(self, staged: Staged) -> TargetRecord:
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

    def rewrite(
        self, relpath: str, data: bytes | Iterable[bytes], digest: str, mode: int
    ) -> TargetRecord:
        """Replace a placed file with ``data`` (or its pieces, written as they come) in one
        rename, with exactly ``mode`` (the manifest a prune rewrites); return its record."""
        self.state_dir.choose_staging()
        try:
            if isinstance(data, bytes):
                staged = self.stage_bytes(relpath, data, digest)
            else:
                staged = Staged(relpath, self._tmp_name(relpath), digest)
                try:
                    write_durably(Path(staged.tmp), data)
                except OSError as exc:
                    raise self._write_error(exc, relpath) from exc
            os.chmod(staged.tmp, mode)
            return self._commit(staged)
        finally:
            self.state_dir.end_staging()

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

    def unowned_files(self, owned: Mapping[str, TargetRecord]) -> list[str]:
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
