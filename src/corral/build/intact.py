"""The state as a run finds it, and which published files are still exactly as written."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Set

from corral.build.recovery import load_state
from corral.fork import in_child
from corral.state import State
from corral.targets.base import Target

__all__ = ["MIN_CHECK_FILES", "AllBut", "inspect", "inspect_later"]


def inspect(target: Target, link: bool = False) -> tuple[State, Set[str]]:
    """Load the state and find which published files are still exactly as written.

    ``link``: originals should be symbolic links to their sources (``--link``).
    """
    state, intact = inspect_later(target, link, fork=False)
    return state, intact()


#: Below this many published files to check, forking costs more than it saves.
MIN_CHECK_FILES = 5000


def inspect_later(
    target: Target, link: bool = False, *, fork: bool = True
) -> tuple[State, Callable[[], Set[str]]]:
    """Load the state, and start finding which published files are still exactly as
    written: in a forked process when there are many (see :func:`corral.fork.in_child`);
    the function returned waits for the answer (call it exactly once)."""
    state = load_state(target.state)
    targets = state.targets
    links = state.sources.keys() if link else set()
    if not fork or len(targets) < MIN_CHECK_FILES or (os.cpu_count() or 1) < 2:
        checked = target.intact_files(targets, links)
        return state, lambda: checked

    def changed() -> list[str]:  # the few files that differ cross back, not the many
        intact = target.intact_files(targets, links)
        return [relpath for relpath in targets if relpath not in intact]

    later = in_child(changed)

    def wait() -> Set[str]:
        return AllBut(targets, frozenset(later()))

    return state, wait


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
