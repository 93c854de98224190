"""What a collect's dry run says it would prune: the same decision as the real run's.

A real run publishes its release, then deletes every file corral owns that neither the new
release nor the ``keep`` releases before it list (``--clear``: ``keep`` 0), and with
``--force --clear`` every file it did not write too. A dry run publishes nothing, so it
plans the new release's files instead — the originals, the hashed copies and manifests
the fingerprint stage planned, and the variants each of those files has (compression is
not run dry) — and applies the same rule to them, so ``collect --clear -n`` lists exactly
what ``collect --clear`` deletes.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from corral.errors import Problem
from corral.state import State, StateDir

__all__ = ["EMPTY_RELEASE", "planned_prune", "planned_release"]

#: Why a run with ``--clear`` and no source file refuses (it would empty the root).
EMPTY_RELEASE = Problem(
    "empty-release",
    "the sources hold no file: with --clear this run would delete every published file",
    hint="check the sources and ignore patterns; to empty the root on purpose, run "
    "'corral clean --keep 0' after a run without --clear",
)


def planned_release(
    state: State,
    state_dir: StateDir,
    *,
    quiet: bool,
    digests: Collection[str],
    hashed_files: Collection[str],
    compress: bool,
) -> set[str]:
    """The files the release a dry run plans consists of (target-relative paths)."""
    if quiet and state.release is not None:  # the last release stands as it is
        return set(state_dir.load_release(state.release).files)
    files = set(digests) | set(hashed_files)
    if compress:
        variants: Mapping[str, Mapping[str, list[Any]]] = state.variants
        for published in list(files):
            for path, _size, _sri in variants.get(published, {}).values():
                files.add(path)
    return files


def planned_prune(
    state_dir: StateDir,
    state: State,
    release: set[str],
    keep: int | None,
    *,
    publish: bool,
    clear: bool,
) -> list[str]:
    """The files a real run would prune after publishing ``release`` (sorted)."""
    if keep is None or not (publish or clear):
        return []
    ids = state_dir.release_ids() if state_dir.owned() else []
    current = state.release
    if not publish and current is not None:
        ids = [i for i in ids if i < current]  # the current release stays the newest
    older = ids[-keep:] if keep else []
    referenced = set(release)
    for release_id in older:
        referenced.update(state_dir.load_release(release_id).files)
    return sorted(p for p in state.targets if p not in referenced)
