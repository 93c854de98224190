"""Sources: turn configured source specs into real directories with URL prefixes."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from corral.config import DirectorySource, ListedSource, PackageSource, SourceSpec
from corral.errors import Problem

__all__ = ["ResolvedSource", "resolve_sources"]


@dataclass(frozen=True, slots=True)
class ResolvedSource:
    """A source directory that exists, with the logical prefix its files get."""

    index: int
    path: Path
    prefix: str
    label: str
    #: For a listed source: its ``(logical path, file path)`` pairs; ``path`` is then
    #: the directory the files have in common.
    files: tuple[tuple[str, str], ...] | None = None


def resolve_sources(
    specs: tuple[SourceSpec, ...], origin: str
) -> tuple[list[ResolvedSource], list[Problem]]:
    """Resolve every spec; report every one that can't be used (not only the first)."""
    resolved: list[ResolvedSource] = []
    problems: list[Problem] = []
    for index, spec in enumerate(specs):
        if isinstance(spec, ListedSource):
            resolved.append(_listed(index, spec))
            continue
        path, problem = _locate(spec, spec.origin or origin)
        if problem is not None:
            problems.append(problem)
        elif path is not None:
            resolved.append(ResolvedSource(index, path, spec.prefix, spec.describe()))
    return resolved, problems


def _listed(index: int, spec: ListedSource) -> ResolvedSource:
    base = f"{spec.prefix}/" if spec.prefix else ""
    files = tuple((base + logical, os.path.abspath(path)) for logical, path in spec.files)
    common = os.path.commonpath([path for _, path in files]) if files else "/"
    return ResolvedSource(index, Path(common), spec.prefix, spec.label, files)


def _locate(
    spec: DirectorySource | PackageSource, origin: str
) -> tuple[Path | None, Problem | None]:
    if isinstance(spec, DirectorySource):
        path = spec.path
        if not path.exists():
            return None, Problem(
                "missing-source",
                f"source directory {path} does not exist",
                path=str(path),
                hint=f"create it, or fix or remove this source in {origin}",
            )
        if not path.is_dir():
            return None, Problem(
                "missing-source",
                f"source {path} is not a directory",
                path=str(path),
                hint=f"a source must be a directory; fix it in {origin}",
            )
        return path.resolve(), None
    return _locate_package(spec, origin)


def _locate_package(spec: PackageSource, origin: str) -> tuple[Path | None, Problem | None]:
    try:
        found = importlib.util.find_spec(spec.package)
    except (ImportError, ValueError) as exc:
        found = None
        reason = f" ({exc})"
    else:
        reason = ""
    if found is None or not found.submodule_search_locations:
        return None, Problem(
            "missing-source",
            f"package {spec.package!r} is not an installed package{reason}",
            hint=f"install it in this environment, or fix or remove this source in {origin}",
        )
    for location in found.submodule_search_locations:
        candidate = Path(location) / spec.subdir
        if candidate.is_dir():
            return candidate.resolve(), None
    where = Path(next(iter(found.submodule_search_locations)))
    return None, Problem(
        "missing-source",
        f"package {spec.package!r} has no {spec.subdir}/ directory (looked in {where})",
        path=str(where / spec.subdir),
        hint="set 'subdir' in this source's table if its files live elsewhere",
    )
