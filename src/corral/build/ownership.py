"""Whether a root may be used: never the project, a source, ``/`` or home; never a
directory corral does not own (unless forced)."""

from __future__ import annotations

import os
from pathlib import Path

from corral.config import Config
from corral.errors import OwnershipError, Problem, TargetError
from corral.loadpath import Conflict
from corral.publish import LocalTarget
from corral.sources import ResolvedSource
from corral.state import LEGACY_DIR, STAGING_DIR

__all__ = ["check_ownership", "conflict_problem", "guard_root"]


def guard_root(config: Config, sources: list[ResolvedSource]) -> None:
    root = Path(os.path.realpath(config.root))
    project = Path(os.path.realpath(config.project_root))
    hint = f"point {config.root_setting} at a directory of its own, e.g. 'static_root'"
    if root == project or project.is_relative_to(root):
        what = "is" if root == project else "contains"
        raise OwnershipError(
            f"refusing to use {config.root} as the target: it {what} the project root "
            f"({config.project_root}); corral replaces and prunes files in its target",
            path=str(config.root),
            hint=hint,
        )
    if root == Path(root.anchor) or root == Path.home():
        raise OwnershipError(f"refusing to use {root} as the target", path=str(root), hint=hint)
    for source in sources:
        if source.files is not None:
            inside = [path for _, path in source.files if Path(path).is_relative_to(root)]
            if inside:
                raise OwnershipError(
                    f"refusing to use {config.root} as the target: {source.label} lists "
                    f"{inside[0]}, which is inside it",
                    path=str(config.root),
                    hint=hint + "; sources are permanent, the target is generated",
                )
            continue
        src = Path(os.path.realpath(source.path))
        if root == src or src.is_relative_to(root) or root.is_relative_to(src):
            relation = (
                "is the source"
                if root == src
                else "contains the source"
                if src.is_relative_to(root)
                else "is inside the source"
            )
            raise OwnershipError(
                f"refusing to use {config.root} as the target: it {relation} {source.path} "
                f"({source.label})",
                path=str(config.root),
                hint=hint + "; sources are permanent, the target is generated",
            )


def check_ownership(target: LocalTarget, *, force: bool) -> bool:
    """Refuse a root corral may not use; return whether it holds nothing yet."""
    root = target.root
    if target.state_dir.owned():
        return False
    if root.exists() and not root.is_dir():
        raise TargetError(
            f"target {root} exists and is not a directory",
            path=str(root),
            hint="remove it or point 'root' elsewhere",
        )
    try:
        if root.is_dir():
            with os.scandir(root) as entries:
                # A transient staging directory is what a first run leaves if it is
                # killed (a lone .corral/, what an older corral's first run left).
                occupied = any(entry.name not in (STAGING_DIR, LEGACY_DIR) for entry in entries)
        else:
            occupied = False
    except OSError as exc:
        raise TargetError(f"can't read target {root}: {exc.strerror}", path=str(root)) from exc
    if occupied and not force:
        raise OwnershipError(
            f"{root} is not empty and corral does not own it (no ownership marker in "
            f"{target.state_dir.home})",
            path=str(root),
            hint="point 'root' at a new or empty directory, or pass --force to adopt this one "
            "(files already there are kept, never pruned, unless you also pass --clear)",
        )
    return not occupied


def conflict_problem(conflict: Conflict) -> Problem:
    shadowed = ", ".join(f.path for f in conflict.shadowed)
    return Problem(
        "conflict",
        f"{conflict.logical!r} is provided by {conflict.winner.path} and also by {shadowed}",
        path=conflict.winner.path,
        logical_path=conflict.logical,
        hint="remove or rename one copy, or ignore it ('strict' makes duplicates an error)",
    )
