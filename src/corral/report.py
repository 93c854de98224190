"""What a run did, as data: the library returns these and never prints."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from corral.errors import Problem
from corral.loadpath import Conflict, SourceFile

__all__ = ["CleanReport", "FindResult", "IgnoredFile", "Progress", "Report"]

#: ``progress(phase, done, total)`` — called as a run advances; ``total`` may be 0.
Progress = Callable[[str, int, int], None]


@dataclass(slots=True)
class Report:
    """The outcome (or, with ``dry_run``, the plan) of one ``collect``."""

    root: str
    dry_run: bool = False
    release: int | None = None
    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    fingerprinted: list[str] = field(default_factory=list)  # files (re)hashed this run
    rewrites: list[tuple[str, int, int, str, str]] = field(default_factory=list)
    cycles: list[list[str]] = field(default_factory=list)
    compressed: int = 0  # (content, encoding) pairs compressed this run
    compress_cache_hits: int = 0
    bytes_written: int = 0
    files_linked: int = 0
    state_written: bool = False
    published: bool = False  # whether this run made a new release
    early_release: int | None = None  # compress = "after": the release published first
    timings: dict[str, float] = field(default_factory=dict)
    cpu_timings: dict[str, float] = field(default_factory=dict)  # this process, all threads

    def summary(self, verbose: int = 0) -> list[str]:
        """What the command line prints: one line, the files with ``verbose``, timings."""
        report, lines = self, []
        counts = (
            f"{len(report.new):,} new, {len(report.changed):,} changed, "
            f"{len(report.unchanged):,} unchanged, {len(report.removed):,} removed"
        )
        if report.dry_run:
            lines.append(
                f"Dry run, nothing written. Plan for {report.root}: {counts}, "
                f"{len(report.pruned):,} to prune\n"
            )
        elif report.published:
            lines.append(f"Collected into {report.root}: {counts} -> release {report.release}\n")
        else:
            lines.append(
                f"{report.root} is up to date ({len(report.unchanged):,} files unchanged, "
                f"release {report.release if report.release is not None else '-'})\n"
            )
        if report.fingerprinted:
            lines.append(
                f"  fingerprinted {len(report.fingerprinted):,} file(s), "
                f"{len(report.rewrites):,} reference(s) rewritten"
                + (f", {len(report.cycles)} reference cycle(s)" if report.cycles else "")
                + "\n"
            )
        if report.compressed or report.compress_cache_hits:
            lines.append(
                f"  compressed {report.compressed:,} variant(s), "
                f"{report.compress_cache_hits:,} from the cache\n"
            )
        if report.repaired:
            lines.append(
                f"  restored {len(report.repaired):,} file(s) changed or deleted in the root\n"
            )
        if report.pruned and not report.dry_run:
            lines.append(f"  pruned {len(report.pruned):,} file(s) no kept release uses\n")
        if verbose:
            for label, names in (
                ("new", report.new),
                ("changed", report.changed),
                ("removed", report.removed),
                ("restored", report.repaired),
                ("prune", report.pruned),
            ):
                lines.extend(f"  {label:<8} {name}\n" for name in names)
            lines.extend(
                f"  rewrite  {file}:{line}:{col}: {old} -> {new}\n"
                for file, line, col, old, new in report.rewrites
            )
            lines.extend(f"  cycle    {' -> '.join(members)}\n" for members in report.cycles)
            if verbose > 1:
                lines.extend(f"  {'same':<8} {name}\n" for name in report.unchanged)
        total = sum(report.timings.values())
        phases = ", ".join(f"{k} {v:.3f}" for k, v in report.timings.items())
        lines.append(f"  time {total:.3f} s ({phases})\n")
        return lines

    def to_dict(self) -> dict[str, object]:
        return {
            "root": self.root,
            "dry_run": self.dry_run,
            "release": self.release,
            "published": self.published,
            "early_release": self.early_release,
            "counts": {
                "new": len(self.new),
                "changed": len(self.changed),
                "unchanged": len(self.unchanged),
                "removed": len(self.removed),
                "repaired": len(self.repaired),
                "pruned": len(self.pruned),
                "conflicts": len(self.conflicts),
                "fingerprinted": len(self.fingerprinted),
                "rewrites": len(self.rewrites),
                "compressed": self.compressed,
                "compress_cache_hits": self.compress_cache_hits,
            },
            "new": self.new,
            "changed": self.changed,
            "removed": self.removed,
            "repaired": self.repaired,
            "pruned": self.pruned,
            "conflicts": [c.to_dict() for c in self.conflicts],
            "warnings": [w.to_dict() for w in self.warnings],
            "cycles": self.cycles,
            "rewrites": [
                {"file": f, "line": line, "column": col, "old": old, "new": new}
                for f, line, col, old, new in self.rewrites
            ],
            "bytes_written": self.bytes_written,
            "files_linked": self.files_linked,
            "state_written": self.state_written,
            "timings": {k: round(v, 6) for k, v in self.timings.items()},
            "cpu_timings": {k: round(v, 6) for k, v in self.cpu_timings.items()},
        }


@dataclass(slots=True)
class CleanReport:
    """The outcome (or plan) of pruning old releases."""

    root: str
    dry_run: bool = False
    kept_releases: list[int] = field(default_factory=list)
    dropped_releases: list[int] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    unowned_removed: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "root": self.root,
            "dry_run": self.dry_run,
            "kept_releases": self.kept_releases,
            "dropped_releases": self.dropped_releases,
            "pruned": self.pruned,
            "unowned_removed": self.unowned_removed,
        }


class IgnoredFile(NamedTuple):
    """A source file at the looked-up path that an ignore pattern excludes."""

    path: str
    source: int
    pattern: str
    origin: str  # where the pattern comes from


@dataclass(slots=True)
class FindResult:
    """Which source provides a logical path, and what it shadows."""

    logical: str
    winner: SourceFile | None
    shadowed: list[SourceFile]
    target: str | None = None
    hashed: str | None = None  # the content-hashed name it was last published under
    source_labels: dict[int, str] = field(default_factory=dict)
    ignored: list[IgnoredFile] = field(default_factory=list)
    hashed_from: str | None = None  # the hashed name asked for, when it was one

    def describe(self) -> list[str]:
        """What ``corral find`` prints: where the file comes from (and what it shadows,
        where it is served, its hashed name), or which patterns exclude it."""
        labels = self.source_labels
        if self.winner is None and not self.ignored:
            return [f"{self.logical!r} is in no source"]
        if self.winner is None:
            return [
                f"{self.logical!r} is {f.path} ({labels.get(f.source, '')}), excluded by the "
                f"ignore pattern {f.pattern!r} from {f.origin}"
                for f in self.ignored
            ]
        lines = [f"{self.hashed_from} is a hashed name of:"] if self.hashed_from else []
        lines += [
            self.logical,
            f"  from    {self.winner.path}  ({labels.get(self.winner.source, '')})",
        ]
        lines += [
            f"  ignored {f.path}  ({labels.get(f.source, '')}): "
            f"pattern {f.pattern!r} from {f.origin}"
            for f in self.ignored
        ]
        lines += [f"  shadows {f.path}  ({labels.get(f.source, '')})" for f in self.shadowed]
        lines += [f"  served  {self.target}"] if self.target else []
        return lines + ([f"  hashed  {self.hashed}"] if self.hashed else [])

    def to_dict(self) -> dict[str, object]:
        def one(f: SourceFile) -> dict[str, object]:
            return {"path": f.path, "source": self.source_labels.get(f.source, str(f.source))}

        return {
            "logical_path": self.logical,
            "found": self.winner is not None,
            "winner": one(self.winner) if self.winner else None,
            "shadowed": [one(f) for f in self.shadowed],
            "target": self.target,
            "hashed": self.hashed,
            "hashed_from": self.hashed_from,
            "ignored": [
                {
                    "path": f.path,
                    "source": self.source_labels.get(f.source, str(f.source)),
                    "pattern": f.pattern,
                    "pattern_from": f.origin,
                }
                for f in self.ignored
            ],
        }
