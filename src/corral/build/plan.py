"""The plan stage: what each source file needs (trusted and in place, or read, and why).

It also holds :class:`Inputs`, what every stage of one run reads.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from typing import NamedTuple

from corral.build.clock import Clock
from corral.build.sink import ReleaseSink
from corral.config import Config
from corral.errors import Problem
from corral.loadpath import LoadPath, SourceFile, name_clashes
from corral.report import Progress
from corral.state import State
from corral.targets.base import Target

__all__ = ["Inputs", "Plan", "triage"]


@dataclass(frozen=True, slots=True)
class Inputs:
    """What every stage of one run reads: the settings, the sources, the state as the run
    found it and the published files still exactly as written, where to stage (``None``:
    a dry run, which stages nothing) and where its state is kept."""

    config: Config
    loadpath: LoadPath
    state: State
    intact: Set[str]
    target: Target | None
    scanned_ns: int  # when the sources were scanned (see corral.state.settled)
    clock: Clock  # the report's timings, per stage
    progress: Progress | None = None
    sink: ReleaseSink | None = None  # a publisher taking finished files early (corral.build.sink)


class Plan(NamedTuple):
    """What :func:`triage` decided."""

    digests: dict[str, str]  # logical -> sha256 of the files the state vouches for
    to_read: list[tuple[SourceFile, str]]  # (file, why: new | suspect | repair)
    unchanged: list[str]  # trusted and in place: nothing to do
    removed: list[str]  # in the last run's sources, not in this one's (sorted)
    warnings: list[Problem]  # new names that clash with others (by case, say)


def triage(inputs: Inputs) -> Plan:
    """Decide what each file needs: trusted and in place, or to be read (and why)."""
    loadpath, state, intact = inputs.loadpath, inputs.state, inputs.intact
    digests: dict[str, str] = {}
    to_read: list[tuple[SourceFile, str]] = []
    unchanged: list[str] = []
    for logical, found in loadpath.files.items():
        digest = state.trusted(logical, found.path, found.identity)
        if digest is None:
            to_read.append((found, "suspect" if logical in state.sources else "new"))
            continue
        digests[logical] = digest
        record = state.targets.get(logical)
        if record is not None and record.digest == digest and logical in intact:
            unchanged.append(logical)
        else:
            to_read.append((found, "repair"))
    removed = sorted(set(state.sources) - set(loadpath.files))
    warnings = []
    if any(why == "new" for _, why in to_read):  # a new name may clash with another
        warnings = name_clashes(loadpath.files)
    return Plan(digests, to_read, unchanged, removed, warnings)
