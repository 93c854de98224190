"""The scan stage: the configured sources, resolved and scanned into one load path."""

from __future__ import annotations

from corral.build.manifests import reserved_problems
from corral.config import Config
from corral.errors import BuildError, Problem
from corral.loadpath import Conflict, IgnoreRules, LoadPath, scan
from corral.retention import EMPTY_RELEASE
from corral.sources import ResolvedSource, resolve_sources
from corral.statehome import state_location

__all__ = ["NO_SOURCES", "conflict_problem", "load_sources", "scan_sources"]

#: Why a run without sources refuses to start.
NO_SOURCES = Problem(
    "no-sources",
    "no sources are configured",
    hint="add 'sources' to [tool.corral] or pass --source DIR",
)


def load_sources(config: Config) -> LoadPath:
    """Resolve and scan the configured sources (no target involved)."""
    resolved, problems = resolve_sources(config.sources, config.origin)
    loadpath = scan(resolved, IgnoreRules(config.ignore_patterns), _no_go(config))
    loadpath.problems[:0] = problems
    return loadpath


def scan_sources(
    config: Config, resolved: list[ResolvedSource], problems: list[Problem], *, clear: bool
) -> LoadPath:
    """Scan the resolved sources for a run; raise :class:`BuildError` listing every
    problem found (``problems``: those of resolving them) before anything is written."""
    loadpath = scan(resolved, IgnoreRules(config.ignore_patterns), _no_go(config))
    found = problems + loadpath.problems
    if config.hash:
        found += reserved_problems(loadpath, config)
    if config.strict:
        found.extend(conflict_problem(c) for c in loadpath.conflicts)
    if clear and not loadpath.files and not found:
        found.append(EMPTY_RELEASE)
    if found:
        raise BuildError(found)
    return loadpath


def _no_go(config: Config) -> tuple[str, str]:
    """The root and its state directory: no source may reach them."""
    return str(config.root), str(state_location(config.root, config.state_dir))


def conflict_problem(conflict: Conflict) -> Problem:
    shadowed = ", ".join(f.path for f in conflict.shadowed)
    return Problem(
        "conflict",
        f"{conflict.logical!r} is provided by {conflict.winner.path} and also by {shadowed}",
        path=conflict.winner.path,
        logical_path=conflict.logical,
        hint="remove or rename one copy, or ignore it ('strict' makes duplicates an error)",
    )
