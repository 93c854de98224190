"""The state as a run finds it, and which published files are still exactly as written."""

from __future__ import annotations

import os
from collections.abc import Callable

from corral.build.recovery import load_state
from corral.fork import in_child
from corral.state import State
from corral.targets.base import Target

__all__ = ["MIN_CHECK_FILES", "inspect", "inspect_later"]


def inspect(target: Target, link: bool = False) -> tuple[State, set[str]]:
    """Load the state and find which published files are still exactly as written.

    ``link``: originals should be symbolic links to their sources (``--link``).
    """
    state, intact = inspect_later(target, link, fork=False)
    return state, intact()


#: Below this many published files to check, forking costs more than it saves.
MIN_CHECK_FILES = 5000


def inspect_later(
    target: Target, link: bool = False, *, fork: bool = True
) -> tuple[State, Callable[[], set[str]]]:
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

    def wait() -> set[str]:
        differ = set(later())
        return {relpath for relpath in targets if relpath not in differ}

    return state, wait
