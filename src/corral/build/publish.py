"""The publish stage: everything staged goes into place, hashed copies first, manifests last."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import NamedTuple

from corral.build.derive import Derived
from corral.build.stage import Staging
from corral.errors import BuildError
from corral.records import TargetTable
from corral.state import TargetRecord
from corral.targets.base import Target

__all__ = ["Decided", "Placed", "forget_staged", "publish_staged", "staged_anything"]


class Placed(NamedTuple):
    """What :func:`publish_staged` changed in the target."""

    records: Mapping[str, TargetRecord]  # every file placed, as it now is
    removed: list[str]  # files that stood in the way, deleted first


class Decided(NamedTuple):
    """What a run staged and derived: everything :func:`publish_staged` places."""

    staging: Staging
    derived: Derived


def publish_staged(
    target: Target, owned: Mapping[str, TargetRecord], decided: Decided, *, force: bool
) -> Placed:
    """Put everything staged into place: hashed copies, originals, variants, manifests
    last. ``owned``: the files corral owns in the target (the state's records)."""
    staging, derived = decided
    hashed, variants = derived.hashed, derived.variants
    manifests = hashed.manifests if hashed else []
    files = [*(hashed.staged if hashed else []), *staging.staged, *variants.staged]
    known = variants.recorded  # staged variants as the records they will have
    if not (files or manifests or known):
        return Placed({}, [])
    keep: set[str] = set()  # what a file in the way must not be; nothing is owned at first
    if owned:
        keep = set(staging.digests) | set(hashed.files if hashed else {}) | set(variants.files)
    order = [*files, *manifests]
    relpaths = [s.relpath for s in order]
    if known:
        relpaths.extend(known)
    removals, problems = target.obstacles(relpaths, owned, keep, force=force)
    del relpaths
    if problems:
        raise BuildError(problems)
    target.state.save_pending(_Pending({s.relpath: s.digest for s in order}, known))
    removed = target.remove(removals) if removals else []
    return Placed(target.place(files, manifests, known), removed)


class _Pending(Mapping[str, str]):
    """Path -> digest of every file a publish places: the staged files' and those of the
    ``known`` records (read from each packed record only as ``pending.json`` is written)."""

    def __init__(self, staged: dict[str, str], known: TargetTable | None) -> None:
        self.staged, self.known = staged, known or TargetTable()

    def __getitem__(self, relpath: str) -> str:
        digest = self.staged.get(relpath)
        return self.known[relpath].digest if digest is None else digest

    def __iter__(self) -> Iterator[str]:
        return itertools.chain(self.staged, (k for k in self.known if k not in self.staged))

    def __len__(self) -> int:
        return len(self.staged) + sum(k not in self.staged for k in self.known)


def staged_anything(decided: Decided) -> bool:
    """Whether the run staged (and so wrote) any file."""
    staging, derived = decided
    hashed, variants = derived.hashed, derived.variants
    return bool(
        staging.staged
        or variants.staged
        or variants.recorded
        or (hashed and (hashed.staged or hashed.manifests))
    )


def forget_staged(decided: Decided) -> Decided:
    """``decided`` without its lists of staged files, once they are in place: the run no
    longer holds a record and a temporary name per file it wrote (most of a first run's
    memory after publishing: 417,596 files with the large corpus)."""
    staging, derived = decided
    hashed = derived.hashed
    return Decided(
        staging._replace(staged=[]),
        derived._replace(
            hashed=None if hashed is None else hashed._replace(staged=(), manifests=()),
            variants=derived.variants._replace(staged=[], recorded=None),
        ),
    )
