"""Whether a local root may be used: the one set of root guards ``collect`` and ``check``
share. Never the project, a source, ``/`` or home; never a directory corral does not own
and that holds files (unless forced)."""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from corral.errors import OwnershipError, Problem, TargetError
from corral.state import LEGACY_DIR, STAGING_DIR, StateDir

if TYPE_CHECKING:
    from corral.config import Config
    from corral.sources import ResolvedSource

__all__ = ["check_ownership", "guard_root", "in_the_way", "write_error"]

_ACCESS = ("permission denied", "run as a user that may write to the target")
#: What a failed write into a root means (by errno), and what to do about it.
_WRITE_ERRORS: dict[int, tuple[str, str]] = {
    errno.ENOSPC: ("the disk is full", "free some space and run again"),
    errno.EDQUOT: ("the disk quota is exceeded", "free some space and run again"),
    errno.EROFS: ("the file system is read-only", "remount it read-write or pick another root"),
    errno.EACCES: _ACCESS,
    errno.EPERM: _ACCESS,
    errno.ENAMETOOLONG: (
        "the name is too long for the target's file system",
        "shorten the source file's name (or its hashed name's stem)",
    ),
}


def write_error(exc: OSError, relpath: str, root: Path, path: str) -> TargetError:
    """The error for a failed write of ``relpath`` (at ``path``) into ``root``."""
    what, hint = _WRITE_ERRORS.get(
        exc.errno or 0, (exc.strerror or str(exc), "fix the target directory and run again")
    )
    return TargetError(
        f"can't write {relpath!r} into {root}: {what}; nothing was published", path=path, hint=hint
    )


def guard_root(config: Config, sources: Sequence[ResolvedSource]) -> None:
    """Refuse a root that is, holds or lies in the project or a source, ``/`` or home."""
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


def check_ownership(root: Path, state_dir: StateDir, *, force: bool) -> bool:
    """Refuse a root corral does not own and that holds files (unless ``force``); return
    whether it holds nothing yet."""
    if state_dir.owned():
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
            f"{state_dir.home})",
            path=str(root),
            hint="point 'root' at a new or empty directory, or pass --force to adopt this one "
            "(files already there are kept, never pruned, unless you also pass --clear)",
        )
    return not occupied


def in_the_way(path: str, relpath: str) -> Problem:
    return Problem(
        "target-obstacle",
        f"{path} is in the way of {relpath!r} and corral did not create it",
        path=path,
        hint="move it out of the target (files are never put there by hand), "
        "or run with --force to replace it",
    )
