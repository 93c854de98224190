"""The prune stage: which releases are kept, and the files none of them lists."""

from __future__ import annotations

from dataclasses import dataclass

from corral.retention import prune_retained
from corral.state import State
from corral.targets.base import StateStore, Target

__all__ = ["PruneOutcome", "forget", "prune_and_save", "prune_files", "prune_selection"]


@dataclass(frozen=True, slots=True)
class PruneOutcome:
    """The releases kept and dropped, and the files deleted."""

    kept: list[int]
    dropped: list[int]
    pruned: list[str]
    unowned_removed: list[str]

    @property
    def changed(self) -> bool:
        return bool(self.dropped or self.pruned or self.unowned_removed)


def prune_selection(
    state_dir: StateStore, state: State, keep: int
) -> tuple[list[int], list[int], list[str]]:
    """The releases kept and dropped, and the files no kept release lists (sorted).

    Right after a publish, ``state.retired`` answers without reading a release record:
    a file the new release does not list is still listed by a kept release exactly when
    the newest release that listed it is kept (the kept ones are the newest). Otherwise
    the kept releases' records are read, and ``state.retired`` is rebuilt from them.
    """
    ids = state_dir.release_ids()
    current = state.release
    older = [i for i in ids if current is None or i <= current]
    newer = [i for i in ids if current is not None and i > current]  # records of killed runs
    kept = older[-(keep + 1) :] + newer
    dropped = [i for i in ids if i not in kept]
    doomed = doomed_from_retired(state_dir, state, kept, newer)
    if doomed is not None:
        return kept, dropped, doomed
    listed: dict[str, int] = {}  # file -> the newest kept release that lists it
    for release_id in sorted(kept):
        listed.update(dict.fromkeys(state_dir.load_release(release_id).files, release_id))
    doomed = sorted(p for p in state.targets if p not in listed)
    if current is None or current not in kept:
        state.retired = None
    else:
        state.retired = {
            p: listed[p] for p in state.targets if p in listed and listed[p] != current
        }
    return kept, dropped, doomed


def doomed_from_retired(
    state_dir: StateStore, state: State, kept: list[int], newer: list[int]
) -> list[str] | None:
    """The files to prune by ``state.retired``; None when it can't tell (read the records)."""
    retired, current = state.retired, state.release
    if retired is None or current is None or newer or current not in kept:
        return None
    written = state_dir.written_release(current)
    if written is None:
        return None  # not a publishing run (e.g. ``corral clean``)
    listed, oldest_kept = written.files, min(kept)
    doomed: list[str] = []
    for relpath in state.targets:
        if relpath in listed:
            continue
        last = retired.get(relpath)
        if last is None:
            return None  # a target the table does not know: trust the records
        if last < oldest_kept:
            doomed.append(relpath)
    doomed.sort()
    return doomed


def prune_and_save(
    target: Target, state: State, keep: int, *, remove_unowned: bool
) -> PruneOutcome:
    """Prune and save the state (``corral clean``)."""
    outcome = prune_files(target, state, keep, remove_unowned=remove_unowned)
    if outcome.changed:
        target.state.save(state)
        forget(target.state, state, outcome)
    return outcome


def prune_files(target: Target, state: State, keep: int, *, remove_unowned: bool) -> PruneOutcome:
    """Delete the files no kept release references and drop them from ``state``.

    The caller saves the state, then calls :func:`forget`: a run killed before the
    save leaves the dropped releases' records, so the next run prunes again.
    """
    kept, dropped, doomed = prune_selection(target.state, state, keep)
    unowned = target.unowned_files(state.targets) if remove_unowned else []
    if not (doomed or dropped or unowned):
        return PruneOutcome(kept, dropped, [], [])
    pruned = target.remove(doomed)
    for relpath in doomed:
        state.targets.pop(relpath, None)
        if state.retired is not None:
            state.retired.pop(relpath, None)
    removed_unowned = target.remove(unowned)
    prune_retained(target, state, kept, pruned)  # the manifest no longer lists them
    return PruneOutcome(kept, dropped, pruned, removed_unowned)


def forget(state_dir: StateStore, state: State, outcome: PruneOutcome) -> None:
    """After the state is saved: drop the pruned releases' records."""
    for release_id in outcome.dropped:
        state_dir.delete_release(release_id)
