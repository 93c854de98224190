"""The seams between a run and where it publishes: a :class:`Target` and its :class:`StateStore`.

``corral.build`` is written against these two protocols only; :class:`corral.targets.local.
LocalTarget` (a directory) is the one implementation. A target stages every file of a run
where no reader sees it, then places them all at once (manifests last); its state store
keeps what the target holds and each release's record, wherever the target keeps them.

Object storage is deliberately not a ``Target``: a bucket has no rename, no staging place
readers cannot see and no cheap per-file check, so ``s3://`` runs build the release into a
private ``LocalTarget`` and then a publisher (:mod:`corral.targets.s3`) syncs the finished
release, behind its own seam, the ``ObjectStore`` protocol (:mod:`corral.targets.store`),
with the bucket's state as a value read and written through it
(:mod:`corral.targets.remote`). See docs/decisions.md, "Architecture and docs (issue 19)".

A run uses a target like this::

    target.usable(sources, force=force)                 # refuse a root corral may not use
    with target.locked(wait=wait), target.writing(force=force):
        state = target.state.load()
        intact = target.intact_files(state.targets, links)
        staged = target.stage(relpath, source, digest, data)  # ... for every file
        removals, problems = target.obstacles(relpaths, state.targets, keep, force=force)
        target.state.save_pending(...)                  # the files about to be placed
        records = target.place(files, manifests)        # everything at once, manifests last
        target.state.save(state)
        target.remove(doomed)                           # pruning
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence, Set
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from corral.errors import Problem
from corral.state import Release, State, TargetRecord

if TYPE_CHECKING:
    from corral.sources import ResolvedSource

__all__ = ["Staged", "StateStore", "Target"]


class Staged(NamedTuple):
    """A file ready to be placed at ``relpath``.

    (A named tuple, as the digests and the state's records: one is made for every file a
    run writes, and a tuple is made several times faster than a frozen dataclass.)
    """

    relpath: str
    tmp: str
    digest: str
    identity: tuple[int, int, int] | None = None  # (inode, size, mtime) if known when written


class StateStore(Protocol):
    """corral's bookkeeping for one target: the state, the release records, and the files
    a run is placing (so a killed run's files stay corral's)."""

    @property
    def path(self) -> Path:
        """The local directory holding the state (a remote target keeps its build's here)."""
        ...

    def owned(self) -> bool:
        """Whether this target is corral's (its ownership marker exists)."""
        ...

    def load(self) -> State:
        """The state; a missing or unreadable one is an empty :class:`State`."""
        ...

    def save(self, state: State) -> None:
        """Write ``state`` atomically (a reader sees the old one or the new one)."""
        ...

    def release_ids(self) -> list[int]:
        """The ids of the recorded releases, oldest first."""
        ...

    def load_release(self, release_id: int) -> Release:
        """A release's record (raises :class:`~corral.errors.StateError` if unreadable)."""
        ...

    def written_release(self, release_id: int) -> Release | None:
        """The record this object wrote for ``release_id`` in this run, if it did."""
        ...

    def save_release(self, release: Release) -> None: ...

    def delete_release(self, release_id: int) -> None: ...

    def release_manifest(self, release_id: int) -> Iterator[str]:
        """The text of the corral manifest kept with a release, a piece at a time
        (:class:`OSError` if none was kept)."""
        ...

    def save_release_manifest(self, release_id: int, data: bytes | str) -> None:
        """Keep a release's corral manifest: its bytes, or a :meth:`draft`'s path (moved)."""
        ...

    def draft(self, parts: Iterable[bytes]) -> str:
        """Write ``parts`` durably to a new scratch file; its path (the next run removes
        it if it was not kept)."""
        ...

    def state_identity(self) -> tuple[int, int, int, int] | None:
        """The state file's (device, inode, size, mtime); ``None`` if there is none."""
        ...

    def read_state_tables(
        self, sinks: Mapping[str, Callable[[dict[str, Any]], None]]
    ) -> tuple[int, int, int, int]:
        """The state file's per-file tables to ``sinks`` a chunk at a time; the
        identity of the file read (``OSError``, ``ValueError``)."""
        ...

    def save_pending(self, files: Mapping[str, str]) -> None:
        """Record the files about to be placed (path -> digest) before placing them."""
        ...

    def load_pending(self) -> dict[str, str]: ...

    def clear_pending(self) -> None: ...


class Target(Protocol):
    """Where a run publishes: what the stages of :mod:`corral.build` call, and nothing else."""

    @property
    def state(self) -> StateStore:
        """This target's bookkeeping."""
        ...

    @property
    def linked(self) -> int:
        """How many files this run staged as links to a twin rather than wrote."""
        ...

    def usable(self, sources: Sequence[ResolvedSource], *, force: bool) -> bool:
        """Refuse a target corral may not use (raising :class:`~corral.errors.OwnershipError`
        or :class:`~corral.errors.TargetError`); return whether it holds nothing yet."""
        ...

    def require_owned(self) -> None:
        """Refuse (:class:`~corral.errors.OwnershipError`) a target corral does not own."""
        ...

    def locked(self, *, wait: float) -> AbstractContextManager[Problem | None]:
        """Hold the target's lock (waiting up to ``wait`` seconds); yield a notice for the
        report, if the target had something to say (its state moved, say)."""
        ...

    def writing(self, *, force: bool) -> AbstractContextManager[bool]:
        """Under the lock: ready the target for a run (``force``: adopt a target that is not
        corral's); yield whether it holds nothing yet. On exit, staging is tidied."""
        ...

    def intact_files(self, records: Mapping[str, TargetRecord], links: Set[str]) -> set[str]:
        """The files of ``records`` still exactly as corral placed them (``links``: those
        that are symbolic links to their sources)."""
        ...

    def path_of(self, relpath: str) -> str:
        """Where a placed file can be read now."""
        ...

    def scratch(self) -> Path:
        """A private local directory for temporary files of this run."""
        ...

    # --- staging -----------------------------------------------------------------------

    def stage(self, relpath: str, source: str, digest: str, data: bytes | None) -> Staged:
        """Stage ``source``'s content (``data``, when it was read whole); a copy that does
        not match ``digest`` raises :class:`~corral.guards.ChangedWhileCopied`."""
        ...

    def stage_bytes(self, relpath: str, data: bytes, digest: str) -> Staged:
        """Stage generated bytes (a rewritten file, a manifest)."""
        ...

    def stage_symlink(self, relpath: str, source: str, digest: str) -> Staged:
        """Stage a symbolic link to a source file (``--link``)."""
        ...

    def stage_with(
        self, make: Callable[[str, str], object], existing: str, relpath: str, digest: str
    ) -> Staged:
        """Stage the file ``make(existing, tmp)`` creates, with its final mode (a verified
        hard link, reflink or copy of a cache entry: never ``chmod`` it)."""
        ...

    def stage_twin(
        self,
        relpath: str,
        staged: str,
        digest: str,
        identity: tuple[int, int, int] | None = None,
    ) -> Staged:
        """Stage ``relpath`` with the same bytes as ``staged``, a file this run staged
        (``Staged.tmp``, whose ``identity`` is passed on if known): a variant shared by a
        hashed copy and its original."""
        ...

    @property
    def writes_directly(self) -> bool:
        """Whether other processes may write this run's files at places :meth:`direct_places`
        gives (else every file is staged through this object)."""
        ...

    def direct_places(self, relpaths: Iterable[str]) -> Iterator[tuple[str, str]]:
        """Places (``relpath``, path) where another process may write files of this run
        itself, for as many of ``relpaths`` as the target allows (none: it stages them)."""
        ...

    def adopt(self, staged: Staged) -> None:
        """Take a file another process wrote at a place :meth:`direct_places` gave."""
        ...

    def discard_staged(self) -> None:
        """Forget and delete everything this run staged (after an error)."""
        ...

    # --- placing and removing ----------------------------------------------------------

    def obstacles(
        self,
        relpaths: list[str],
        owned: Mapping[str, TargetRecord],
        keep: set[str],
        *,
        force: bool = False,
    ) -> tuple[list[str], list[Problem]]:
        """What stands where new files go: owned files to remove first, and problems for
        anything corral did not write (unless ``force``)."""
        ...

    def placed_record(self, staged: Staged) -> TargetRecord | None:
        """The record ``staged`` will have once placed, if that is known already (a file
        that placing moves without changing it); ``None``: only placing tells. A caller
        may then keep the record instead of the staged file and give it to :meth:`place`
        in ``known``."""
        ...

    def place(
        self,
        files: Iterable[Staged],
        last: Sequence[Staged],
        known: MutableMapping[str, TargetRecord] | None = None,
    ) -> Mapping[str, TargetRecord]:
        """Put every staged file in place, ``files`` in order and then ``last`` (the
        manifests), with the files whose records :meth:`placed_record` gave (``known``);
        return each one's record (in ``known`` itself, when given)."""
        ...

    def rewrite(
        self, relpath: str, data: bytes | Iterable[bytes], digest: str, mode: int
    ) -> TargetRecord:
        """Replace a placed file with ``data`` (or its pieces) at once, with ``mode``."""
        ...

    def remove(self, relpaths: list[str]) -> list[str]:
        """Delete these files (never outside the target); return those deleted."""
        ...

    def unowned_files(self, owned: Mapping[str, TargetRecord]) -> list[str]:
        """The target's files corral did not write (sorted)."""
        ...
