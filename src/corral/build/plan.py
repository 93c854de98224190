"""The plan: what each source file needs (trusted and in place, or read, and why)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from corral.build.clock import Clock
from corral.hashing import Hashed
from corral.loadpath import LoadPath, SourceFile, name_clashes
from corral.publish import Digests, Staged
from corral.report import Report
from corral.state import State

__all__ = ["Run", "triage"]


@dataclass(slots=True)
class Run:
    digests: dict[str, str] = field(default_factory=dict)  # logical -> digest, every file
    staged: list[Staged] = field(default_factory=list)
    read_digests: dict[str, Digests] = field(default_factory=dict)  # files read this run
    refresh: bool = False  # state must be rewritten even if nothing is published
    quiet: bool = False  # nothing changed: the last release, fingerprints and variants stand
    hashed: Hashed | None = None  # the fingerprint stage's outcome (when hashing)
    compressed: list[Staged] = field(default_factory=list)  # staged variants
    variants: dict[str, Any] = field(default_factory=dict)  # file -> encoding -> [path, size, sri]
    variant_files: dict[str, str] = field(default_factory=dict)  # variant path -> integrity
    compression: str = ""  # the compression options in force (their repr)
    cache_grew: bool = False  # this run added entries to the shared compression cache
    publish: bool = False  # this run makes a new release
    release_id: int | None = None


def triage(
    loadpath: LoadPath, state: State, intact: set[str], report: Report, *, clock: Clock
) -> tuple[Run, list[tuple[SourceFile, str]]]:
    """Decide what each file needs: trusted and in place, or to be read (and why)."""
    run = Run()
    to_read: list[tuple[SourceFile, str]] = []  # (file, why: new | suspect | repair)
    with clock("plan"):
        for logical, found in loadpath.files.items():
            digest = state.trusted(logical, found.path, found.identity)
            if digest is None:
                to_read.append((found, "suspect" if logical in state.sources else "new"))
                continue
            run.digests[logical] = digest
            record = state.targets.get(logical)
            if record is not None and record.digest == digest and logical in intact:
                report.unchanged.append(logical)
            else:
                to_read.append((found, "repair"))
        report.removed = sorted(set(state.sources) - set(loadpath.files))
        if any(why == "new" for _, why in to_read):  # a new name may clash with another
            report.warnings.extend(name_clashes(loadpath.files))
    return run, to_read
