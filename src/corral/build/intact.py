"""The state as a run finds it, and which published files are still exactly as written."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Set
from functools import partial
from typing import Any

from corral.build.recovery import load_state_as_read
from corral.fork import in_child, usable
from corral.records import Tables, TargetTable
from corral.state import State
from corral.targets.base import Target

__all__ = ["EARLY_FORK_BYTES", "MIN_CHECK_FILES", "AllBut", "inspect", "inspect_later"]


def inspect(target: Target, link: bool = False) -> tuple[State, Set[str]]:
    """Load the state and find which published files are still exactly as written.

    ``link``: originals should be symbolic links to their sources (``--link``).
    """
    state, intact = inspect_later(target, link, fork=False)
    return state, intact()


#: Below this many published files to check, forking costs more than it saves.
MIN_CHECK_FILES = 5000
#: From this size of ``state.json`` on (about 100,000 published files), the child is
#: forked before the state is loaded, and reads it itself.
EARLY_FORK_BYTES = 16 << 20

#: What the child found: the state file's (device, inode, size, mtime) as it read it,
#: how many target records it checked, and the paths of those that differ.
_Checked = tuple[tuple[int, int, int, int], int, list[str]]


def inspect_later(
    target: Target, link: bool = False, *, fork: bool = True
) -> tuple[State, Callable[[], Set[str]]]:
    """Load the state, and start finding which published files are still exactly as
    written: when there are many, in a forked process (see :func:`corral.fork.in_child`)
    while this one scans the sources. The function returned waits for the answer (call
    it exactly once).

    A child forked after loading shares the loaded tables with this process, and the
    kernel counts shared pages in both: the large corpus's no-change run held 197 MiB
    in this process and 365 MiB summed over the two. For a big state the child is
    forked *before* loading, and reads the target records from the state file a chunk
    at a time (holding one chunk and the paths that differ) while this one loads it:
    214 MiB summed. A smaller state is loaded first: reading it twice would cost more
    time than the pages are worth.
    """
    store = target.state
    fork = fork and (os.cpu_count() or 1) >= 2 and usable()
    later = None
    if fork:
        before = store.state_identity()
        if before is not None and before[2] >= EARLY_FORK_BYTES:
            later = in_child(partial(_differing, target, link))
    state, as_read = load_state_as_read(store)
    targets = state.targets
    links = state.sources.keys() if link else set()
    if later is None:
        if not fork or len(targets) < MIN_CHECK_FILES:
            checked = target.intact_files(targets, links)
            return state, lambda: checked

        def changed() -> list[str]:  # the few files that differ cross back, not the many
            intact = target.intact_files(targets, links)
            return [relpath for relpath in targets if relpath not in intact]

        late = in_child(changed)
        return state, lambda: AllBut(targets, frozenset(late()))
    identity = store.state_identity()

    def wait() -> Set[str]:
        answer = later()
        # The child read the same file as this process, and this process changed
        # none of its records (see load_state_as_read): its answer holds.
        if answer is not None and as_read and answer[:2] == (identity, len(targets)):
            return AllBut(targets, frozenset(answer[2]))
        return target.intact_files(targets, links)

    return state, wait


def _differing(target: Target, link: bool) -> _Checked | None:
    """The published files of the state file's records that are not as written, the
    records read and checked a chunk at a time (in the child); ``None`` if the file
    cannot be read as a state (the parent then finds no records either, or checks
    itself)."""
    tables = Tables()
    links: set[str] = set()
    differ: list[str] = []
    count = 0

    def sources(chunk: dict[str, Any]) -> None:
        if link:
            links.update(chunk)

    def targets(chunk: dict[str, Any]) -> None:
        nonlocal count
        if link and not links:
            raise ValueError("the targets come before the sources")  # not as written
        tables.targets = TargetTable()
        tables.add_targets(chunk)  # checked as the parent checks them
        intact = target.intact_files(tables.targets, links)
        count += len(tables.targets)
        differ.extend(path for path in tables.targets if path not in intact)

    try:
        identity = target.state.read_state_tables({"sources": sources, "targets": targets})
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None
    return identity, count, differ


class AllBut(Set[str]):
    """The paths of ``targets`` but those in ``differ``, without a set of every path
    (16 MiB for the large corpus's 417,596 target files). A run reads it before it
    publishes, while ``targets`` is as it was checked."""

    __slots__ = ("_differ", "_len", "_targets")

    def __init__(self, targets: Mapping[str, object], differ: frozenset[str]) -> None:
        self._targets, self._differ = targets, differ
        self._len = len(targets) - sum(1 for path in differ if path in targets)

    def __contains__(self, path: object) -> bool:
        return path in self._targets and path not in self._differ

    def __iter__(self) -> Iterator[str]:
        return (path for path in self._targets if path not in self._differ)

    def __len__(self) -> int:
        return self._len
