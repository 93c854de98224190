"""corral's private bookkeeping for one root, kept *outside* it (no server pointed at the
root can reach it): by default in a sibling directory named after the root.

::

    <parent>/.<root name>.corral/   (or ``state_dir``; see :func:`state_location`)
      .gitignore            "*": never committed
      owner.json            ownership marker: the root named there is corral's to fill and prune
      lock                  held (fcntl) by the run that is writing
      state.json            source identities and digests; every file corral owns in ROOT;
                            for those the current release does not list, the newest
                            release that did (so pruning need not read the records)
      derived.<n>.json      fingerprints and compressed variants (read only when needed)
      releases/<id>.json    one record per release: the files it consists of
      pending.json          files a run is renaming into place (exists only mid-publish)
      tmp/                  files being written; never visible where a web server looks

Older versions kept all of this in ``ROOT/.corral/``; the next writing run moves it
(:meth:`StateDir.migrate`).

A source file is unchanged when its identity (size, mtime, ctime, inode, device)
matches the state *and* its ctime is older than the run that recorded it by more
than :data:`RACY_NS` (the "racy git" rule): ctime changes on every write, even when
a tool restores an old mtime, so content that may have changed is always re-read
and decided by its digest, never by comparing mtimes.

The fingerprints and variants are most of the state's bytes, and a run in which
nothing changed needs neither: they live in their own file, named by a generation
number that ``state.json`` records, and are parsed on first use. A new generation
is written before the ``state.json`` that names it, so a killed run leaves either
the old pair or the new one.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO, Any

from corral import jsonio
from corral.durable import write_atomically, write_durably
from corral.errors import Problem, TargetError
from corral.gcpause import gc_paused
from corral.guards import (
    empty_directory,
    fsync_dir,
    owned_dir,
    real_directory,
    remove_tree,
    same_file_system,
    write_gitignore,
)
from corral.heap import release_free_memory
from corral.records import SourceRecord, SourceTable, Tables, TargetRecord, TargetTable
from corral.releaserecord import Release
from corral.statehome import MARKER, check_home, move_legacy_state, state_location

__all__ = [
    "LEGACY_DIR",
    "RACY_NS",
    "STAGING_DIR",
    "Release",
    "SourceRecord",
    "SourceTable",
    "State",
    "StateDir",
    "TargetRecord",
    "settled",
]

FORMAT = 3
#: Where corral 0.1.0.dev kept its state: inside the root (moved out by the next run).
LEGACY_DIR = ".corral"
#: The staging directory inside the root, when the state is on another file system.
STAGING_DIR = ".corral-staging"
#: A file whose ctime is this close to the recording run's start is re-read next time.
RACY_NS = 2_000_000_000


def settled(ctime_ns: int, scanned_ns: int) -> bool:
    """Whether a file last changed at ``ctime_ns`` can be trusted by a scan at ``scanned_ns``."""
    return ctime_ns < scanned_ns - RACY_NS


_Derived = tuple[dict[str, Any], dict[str, Any]]  # (fingerprints, variants)
_Sink = Callable[[dict[str, Any]], None]
_Loader = Callable[[int], _Derived] | None


@dataclass(slots=True)
class State:
    """The persistent state of one target directory."""

    release: int | None = None
    scanned_ns: int = 0
    sources: SourceTable = field(default_factory=SourceTable)
    targets: TargetTable = field(default_factory=TargetTable)
    #: The compression options the variants were made with.
    compression: str = ""
    #: The fingerprinting options (and corral version) the fingerprints were made with.
    hashing: str = ""
    #: The generation of the derived file (fingerprints and variants); 0: none yet.
    derived: int = 0
    #: For each target that the current release does not list: the newest release that
    #: listed it (0: none). ``None``: not known; pruning then reads the release records
    #: (and rebuilds this). With it, pruning after a publish reads no release record.
    retired: dict[str, int] | None = None
    _fingerprints: dict[str, Any] | None = None
    _variants: dict[str, Any] | None = None
    _derived_loader: Callable[[], _Derived] | None = None

    @property
    def fingerprints(self) -> dict[str, Any]:
        """Fingerprints by logical path (records; a damaged one as its JSON), read on use."""
        if self._fingerprints is None:
            self._read_derived()
        assert self._fingerprints is not None
        return self._fingerprints

    @fingerprints.setter
    def fingerprints(self, value: dict[str, Any]) -> None:
        self._fingerprints = value

    @property
    def variants(self) -> dict[str, Any]:
        """Precompressed variants by published file: encoding -> [path, size, integrity]."""
        if self._variants is None:
            self._read_derived()
        assert self._variants is not None
        return self._variants

    @variants.setter
    def variants(self, value: dict[str, Any]) -> None:
        self._variants = value

    @property
    def derived_touched(self) -> bool:
        """Whether the fingerprints or variants were read or replaced (and may differ)."""
        return self._fingerprints is not None or self._variants is not None

    def _read_derived(self) -> None:
        fingerprints, variants = self._derived_loader() if self._derived_loader else ({}, {})
        self._derived_loader = None
        if self._fingerprints is None:
            self._fingerprints = fingerprints
        if self._variants is None:
            self._variants = variants

    def trusted(
        self, logical: str, path: str, identity: tuple[int, int, int, int, int]
    ) -> str | None:
        """Return the known digest if the file provably hasn't changed, else ``None``."""
        digest = self.sources.digest_if(logical, path, identity)
        if digest is None:
            return None
        if not settled(identity[2], self.scanned_ns):
            return None  # written too close to the last run to trust its timestamps
        return digest

    def to_json(self) -> dict[str, Any]:
        return jsonio.whole(self.json_tables())

    def json_tables(self) -> dict[str, Any]:
        """:meth:`to_json` with the per-file tables as :class:`~corral.jsonio.Table`: for
        :func:`~corral.jsonio.streamed`, which converts them a chunk at a time."""
        retired = None if self.retired is None else jsonio.Table(self.retired)
        return {
            "format": FORMAT,
            "release": self.release,
            "scanned_ns": self.scanned_ns,
            "sources": jsonio.Table(*self.sources.json_table()),
            "targets": jsonio.Table(*self.targets.json_table()),
            "compression": self.compression,
            "hashing": self.hashing,
            "derived": self.derived,
            "retired": retired,
        }

    def derived_json(self) -> dict[str, Any]:
        """The derived file's tables (a record encoded as its chunk is written)."""
        return {
            "fingerprints": jsonio.Table(self.fingerprints, _fingerprint_json),
            "variants": self.variants,
        }

    @classmethod
    def from_json(cls, data: Any, derived: _Loader = None, *, consume: bool = False) -> State:
        """The state in ``data``; ``derived(n)`` reads generation ``n``'s derived file.
        ``consume``: empty ``data``'s tables once converted (never both held whole)."""
        tables = Tables()
        if isinstance(data, dict):
            for name, add in tables.sinks().items():
                value = data.get(name)
                if type(value) is dict:
                    if consume:
                        data[name] = {}
                    add(value)
        return _build(tables, cls, data, derived)

    @classmethod
    def read(cls, stream: IO[bytes], derived: _Loader = None) -> State:
        """The state in the file ``stream`` reads, its tables converted a chunk at a time
        (:func:`corral.jsonio.read_tables`): the file's text and its parsed tables are
        never held whole. Raises ``ValueError`` as :meth:`from_json` does."""
        tables = Tables()
        return _build(tables, cls, jsonio.read_tables(stream, tables.sinks()), derived)


def _build(tables: Tables, cls: type[State], data: Any, derived: _Loader) -> State:
    """The state of the file's other fields, with the tables read."""
    if not isinstance(data, dict) or data.get("format") not in (2, FORMAT):
        raise ValueError("unknown state format")
    release = data.get("release")
    numbers = (data.get("scanned_ns"), data.get("derived", 0), 0 if release is None else release)
    if not all(type(n) is int for n in numbers):
        raise ValueError("the state's fields have the wrong types")
    if type(data.get("sources")) is not dict or type(data.get("targets")) is not dict:
        raise ValueError("the state's fields have the wrong types")
    compression = data.get("compression", "")
    hashing = data.get("hashing", "")
    if not isinstance(compression, str) or not isinstance(hashing, str):
        raise ValueError("compression and hashing must be strings")
    state = cls(release, data["scanned_ns"], tables.sources, tables.targets, compression, hashing)
    retired = data.get("retired")
    state.retired = _retired(tables.retired, tables.targets) if type(retired) is dict else None
    if data["format"] == 2:  # corral 0.1.0.dev before the split: all in one file
        state.fingerprints, state.variants = _derived_tables(data)
    elif data["derived"]:
        generation = int(data["derived"])
        state.derived = generation
        if derived is not None:
            state._derived_loader = lambda: derived(generation)
    return state


def _retired(data: dict[str, Any], targets: Mapping[str, TargetRecord]) -> dict[str, int] | None:
    """The ``retired`` table if it is whole (every entry a target, every value a release
    number); otherwise not known."""
    for key, value in data.items():
        if type(value) is not int or key not in targets:
            return None
    return data


def _derived_tables(data: Any) -> _Derived:
    fingerprints = data.get("fingerprints", {})
    variants = data.get("variants", {})
    if not isinstance(fingerprints, dict) or not isinstance(variants, dict):
        raise ValueError("fingerprints and variants must be tables")
    return fingerprints, variants


class StateDir:
    """Reads and atomically writes corral's bookkeeping for one root.

    It lives *outside* the root, by default in a sibling directory named after it
    (``static_root`` -> ``.static_root.corral``; see :func:`state_location`), so no
    server pointed at the root can reach it. ``location`` is the configured place
    (``state_dir``), if any. A root made by corral 0.1.0.dev before this change keeps
    its state in ``ROOT/.corral``: until a run moves it (:meth:`migrate`), this object
    reads it there (``legacy``).
    """

    def __init__(self, root: Path, location: Path | None = None) -> None:
        self.root = root
        #: Where the state belongs (and goes on the next writing run).
        self.home = state_location(root, location)
        self.legacy_path = root / LEGACY_DIR
        self.legacy = not (self.home / MARKER).is_file() and owned_dir(self.legacy_path)
        #: Where the state is now: ``home``, or ``ROOT/.corral`` until it is migrated.
        self.path = self.legacy_path if self.legacy else self.home
        #: Staging for published files: ``tmp`` in the state directory when that is on
        #: the root's file system (renames into place must be atomic), else a transient
        #: directory in the root (see :meth:`choose_staging`).
        self.staging = self.path / "tmp"
        # The releases this object wrote: pruning right after a publish needs the new
        # record, and reading back 2.7 MB of JSON it just wrote (full corpus) is waste.
        self._written: dict[int, Release] = {}

    @property
    def tmp(self) -> Path:
        """Scratch space for the state's own files (always on the state's file system)."""
        return self.path / "tmp"

    @property
    def releases_dir(self) -> Path:
        """The release records (and each kept release's corral manifest)."""
        return self.path / "releases"

    @property
    def marker(self) -> Path:
        return self.path / MARKER

    @property
    def state_file(self) -> Path:
        return self.path / "state.json"

    @property
    def lock_file(self) -> Path:
        """The lock every writing run holds: always in :attr:`home` (a run that finds
        the old layout takes the old lock too, see :meth:`migrate`)."""
        return self.home / "lock"

    @property
    def pending_file(self) -> Path:
        return self.path / "pending.json"

    @property
    def transient_staging(self) -> Path:
        """The staging directory inside the root, used only when the state directory is
        on another file system; it exists only during a run."""
        return self.root / STAGING_DIR

    def owned(self) -> bool:
        return self.marker.is_file()

    def prepare_lock(self) -> None:
        """Create the root and the state directory, so the lock file can be opened."""
        check_home(self.root, self.home)
        self._mkdirs(self.root, self.home)

    def create(self) -> None:
        """Create the state directory and the ownership marker (idempotent); choose where
        this run stages (see :meth:`choose_staging`).

        Call while holding the lock: the marker is written through ``tmp/``.
        """
        self._mkdirs(self.root, self.path)
        for directory in (self.tmp, self.releases_dir):
            real_directory(directory, self._mkdirs)
        if not self.legacy:
            write_gitignore(self.path / ".gitignore")
        if not self.marker.exists():
            self.write_json(
                self.marker,
                {
                    "owner": "corral",
                    "format": FORMAT,
                    "root": str(self.root),
                    "note": "corral's private bookkeeping for the root named here: never "
                    "serve or commit this directory, and do not put files here by hand.",
                },
            )
        self.choose_staging()

    def choose_staging(self) -> None:
        """Stage in the state directory's ``tmp/`` when a rename from there into the root
        is atomic (same file system); otherwise (the root is a mount point of its own,
        e.g. a container volume) in a directory inside the root that exists only while
        a run stages, and holds only copies of files about to be published."""
        if same_file_system(self.root, self.tmp):
            self.staging = self.tmp
            return
        self.staging = self.transient_staging
        real_directory(self.staging, self._mkdirs)

    def end_staging(self) -> None:
        """Remove the transient staging directory in the root (if this run used one)."""
        if self.staging == self.transient_staging:
            remove_tree(self.staging)

    def migrate(self, *, wait: float = 0.0) -> Problem | None:
        """Move a state kept in ``ROOT/.corral`` (corral 0.1.0.dev's layout) to its home
        (see :func:`corral.statehome.move_legacy_state`); call holding the lock of
        :attr:`home`. Returns a notice (``state-moved``), or ``None`` if there was nothing
        to move."""
        if not self.legacy:
            return None
        notice = move_legacy_state(self.root, self.legacy_path, self.home, wait=wait)
        self._switch_home()
        return notice

    def _switch_home(self) -> None:
        self.legacy = False
        self.path = self.home
        self.staging = self.tmp

    def _mkdirs(self, *directories: Path) -> None:
        for directory in directories:
            try:
                directory.mkdir(exist_ok=True)
            except OSError as exc:
                raise TargetError(
                    f"can't create {directory}: {exc.strerror or exc}",
                    path=str(directory),
                    hint="create the target directory's parent, run as a user that may "
                    "write there, or set 'state_dir' (--state-dir, CORRAL_STATE_DIR)",
                ) from exc

    def load(self) -> State:
        """Load the state; a missing or unreadable state means "know nothing"."""
        try:
            with self.state_file.open("rb") as stream, gc_paused():
                state = State.read(stream, self._load_derived)
        except FileNotFoundError:
            return State()
        except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError):
            # A torn or foreign state file: start from nothing and re-read every source.
            # Ownership is rebuilt from the release records (see recover_targets).
            return State()
        # Reading left the heap holding the chunks' free space (18 MiB for the large
        # corpus's state): give it back, or the run's peak keeps it.
        release_free_memory()
        return state

    def derived_path(self, generation: int) -> Path:
        return self.path / f"derived.{generation}.json"

    def _load_derived(self, generation: int) -> tuple[dict[str, Any], dict[str, Any]]:
        """Generation ``generation``'s fingerprints and variants; if that file is lost
        or torn, none (the run then fingerprints and compresses again, from its cache)."""
        from corral.fingerprint.model import records_from_json  # noqa: PLC0415

        records: dict[str, Any] = {}  # the fingerprints parsed as read, never held as JSON
        try:  # a chunk at a time, as the state (the large corpus's is 78 MB of JSON)
            with self.derived_path(generation).open("rb") as stream, gc_paused():
                data = jsonio.read_tables(
                    stream, {"fingerprints": partial(records_from_json, records)}
                )
                return records, _derived_tables(data)[1]
        except (OSError, ValueError, TypeError):
            return {}, {}

    def save(self, state: State) -> None:
        """Write the state: a new derived file first if the fingerprints or variants
        may have changed, then ``state.json`` naming it, then drop older generations."""
        if state.derived_touched or not state.derived:
            generation = state.derived + 1
            with gc_paused():
                self.write_parts(self.derived_path(generation), state.derived_json())
            state.derived = generation
        with gc_paused():
            self.write_parts(self.state_file, state.json_tables())
        self._drop_derived(keep=state.derived)

    def _drop_derived(self, keep: int) -> None:
        """Remove derived files of other generations (older ones, or a killed run's)."""
        wanted = self.derived_path(keep).name
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(self.path):
                name = entry.name
                if name.startswith("derived.") and name.endswith(".json") and name != wanted:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.path)

    def release_ids(self) -> list[int]:
        ids: list[int] = []
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(self.releases_dir):
                stem, _, ext = entry.name.partition(".")
                if ext == "json" and stem.isdigit():
                    ids.append(int(stem))
        return sorted(ids)

    def load_release(self, release_id: int) -> Release:
        written = self._written.get(release_id)
        if written is not None:
            return written
        path = self._release_path(release_id)
        try:
            data = jsonio.loads(path.read_bytes())
            return Release(int(data["release"]), str(data["created"]), dict(data["files"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise TargetError(
                f"release record {path} is unreadable: {exc}",
                path=str(path),
                hint="delete the record if that release is gone; its files will then be "
                "pruned only once no kept release lists them",
            ) from exc

    def written_release(self, release_id: int) -> Release | None:
        """The record of ``release_id`` if this object wrote it (in this run)."""
        return self._written.get(release_id)

    def save_release(self, release: Release) -> None:
        self.write_parts(self._release_path(release.id), release.to_json())
        self._written[release.id] = release

    def delete_release(self, release_id: int) -> None:
        self._written.pop(release_id, None)
        for path in (self._release_path(release_id), self.release_manifest_path(release_id)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def release_manifest_path(self, release_id: int) -> Path:
        """Where the corral manifest of a release is kept while the release is kept."""
        return self.releases_dir / f"{release_id:08d}.manifest.json"

    def release_manifest(self, release_id: int) -> Iterator[str]:
        """The text of the corral manifest kept with a release, a piece at a time
        (:class:`OSError` if none was kept, ``ValueError`` if it is not UTF-8)."""
        with self.release_manifest_path(release_id).open(encoding="utf-8") as stream:
            while piece := stream.read(1 << 20):
                yield piece

    def save_release_manifest(self, release_id: int, data: bytes | str) -> None:
        """Keep a release's corral manifest: its bytes, or a :meth:`draft`'s path (moved)."""
        self._write(
            self.release_manifest_path(release_id), data if isinstance(data, str) else (data,)
        )

    def draft(self, parts: Iterable[bytes]) -> str:
        """A new scratch file of ``parts``, durably (kept by :meth:`save_release_manifest`)."""
        path = self.tmp / f"draft.{os.getpid()}.{time.monotonic_ns()}"
        self._write(path, parts, new=True)
        return str(path)

    def state_identity(self) -> tuple[int, int, int, int] | None:
        """The state file's (device, inode, size, mtime); ``None`` if there is none."""
        with contextlib.suppress(OSError):
            return _identity(self.state_file.stat())
        return None

    def read_state_tables(self, sinks: Mapping[str, _Sink]) -> tuple[int, int, int, int]:
        """The state file's tables to ``sinks`` a chunk at a time, its identity returned."""
        every: dict[str, _Sink] = dict.fromkeys(("sources", "targets", "retired"), dict.clear)
        with self.state_file.open("rb") as stream:
            identity = _identity(os.fstat(stream.fileno()))
            jsonio.read_tables(stream, {**every, **sinks})
        return identity

    def save_pending(self, files: Mapping[str, str]) -> None:
        """Record, before renaming, which files this run is about to place (and own)."""
        self._write(self.pending_file, jsonio.streamed(jsonio.Table(files)))

    def load_pending(self) -> dict[str, str]:
        """Files a killed run may have placed; they are corral's, whatever their state."""
        try:
            data = jsonio.loads(self.pending_file.read_bytes())
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def clear_pending(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.pending_file.unlink()

    def clean_tmp(self) -> None:
        """Remove leftovers of a run that was killed (call only while holding the lock):
        the state's scratch files and the staging directories. A symbolic link planted
        in their place is removed, never followed."""
        for directory in (self.tmp, self.transient_staging, self.staging):
            if directory == self.staging and directory == self.transient_staging:
                continue  # this run's own (made by choose_staging, empty)
            if directory == self.transient_staging:
                remove_tree(directory)
            else:
                empty_directory(directory)

    def write_json(self, path: Path, data: Any) -> None:
        """Write JSON durably and atomically (see :meth:`_write`), every table's
        keys sorted: equal states give equal bytes."""
        self._write(path, (jsonio.dumps(data, sort_keys=True),))

    def write_parts(self, path: Path, data: dict[str, Any]) -> None:
        """:meth:`write_json` for big tables: the same JSON, written a chunk at a time
        (:func:`corral.jsonio.streamed`; its dictionaries are :class:`~corral.jsonio.Table`s)."""
        tables = {k: jsonio.Table(v) if type(v) is dict else v for k, v in data.items()}
        self._write(path, jsonio.streamed(tables))

    def _write(self, path: Path, parts: Iterable[bytes] | str, *, new: bool = False) -> None:
        """Write ``parts`` to ``path`` durably and atomically: temp file, fsync, rename,
        fsync directory (``new``: a new file, no rename); or move the file ``parts`` names."""
        try:
            if isinstance(parts, str):
                os.replace(parts, path)
                fsync_dir(path.parent)
            elif new:
                write_durably(path, parts)
            else:
                write_atomically(path, parts, self.tmp)
        except OSError as exc:
            raise TargetError(
                f"can't write {path}: {exc.strerror or exc}; the run did not complete",
                path=str(path),
                hint="fix the target directory (space, permissions, read-only mount) and run "
                "again; the next run repairs whatever this one left half done",
            ) from exc

    def _release_path(self, release_id: int) -> Path:
        return self.releases_dir / f"{release_id:08d}.json"


def _fingerprint_json(record: Any) -> Any:
    return record if type(record) is dict else record.to_json()


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def releases_location(root: Path, location: Path | None = None) -> Path:
    """Where the release records and kept releases' corral manifests are (for a server
    that serves retained releases): ``<state>/releases/<id>.manifest.json``."""
    return StateDir(root, location).releases_dir
