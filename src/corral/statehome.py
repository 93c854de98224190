"""Where a root's private state lives, and whether a state directory may serve it.

The state directory is never inside the root (a server pointed at the root could read
it) and never shared by two roots: a state that lists another root's files would make
this root's run prune files corral never wrote here.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from corral import jsonio
from corral.errors import Problem, TargetError
from corral.guards import entries, fsync_dir, move, owned_dir, remove_tree

__all__ = [
    "ENV_VAR",
    "MARKER",
    "check_home",
    "default_location",
    "foreign_owner",
    "move_legacy_state",
    "state_dir_problem",
    "state_location",
]

#: The ownership marker: the root named there is corral's to fill and prune.
MARKER = "owner.json"

#: Overrides the default place of the state directory (the ``state_dir`` setting wins).
ENV_VAR = "CORRAL_STATE_DIR"


def default_location(root: Path) -> Path:
    """The default state directory: a sibling of the root named after it."""
    return root.parent / f".{root.name}.corral"


def state_location(root: Path, location: Path | None = None) -> Path:
    """The state directory of ``root``: ``location`` if set (the flag; the ``state_dir``
    setting when ``$CORRAL_STATE_DIR`` is not set, see :func:`corral.config.load_config`),
    else ``$CORRAL_STATE_DIR``, else :func:`default_location`."""
    if location is not None:
        return Path(os.path.abspath(location))
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(os.path.abspath(os.path.expanduser(env)))
    return default_location(root)


def state_dir_problem(root: Path, home: Path) -> str | None:
    """Why ``home`` can't hold the state of ``root`` (a server could reach it), if so."""
    real_root = Path(os.path.realpath(root))
    real_home = Path(os.path.realpath(home))
    if real_home == real_root or real_home.is_relative_to(real_root):
        return "it is inside the root, where a server pointed at the root can read it"
    if real_root.is_relative_to(real_home):
        return "it contains the root"
    return None


def foreign_owner(root: Path, home: Path, marker: Path) -> str | None:
    """The other root whose state ``home`` holds, if its marker names one.

    The default location moves with its root (a renamed project directory keeps its
    state), so only a state directory set by hand (``state_dir``, ``--state-dir``,
    ``$CORRAL_STATE_DIR``) is compared; a marker without a root (older versions) or one
    that can't be read is left to the state's own checks.
    """
    if home == default_location(root):
        return None
    try:
        recorded = jsonio.loads(marker.read_bytes()).get("root")
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(recorded, str):
        return None
    if os.path.realpath(recorded) == os.path.realpath(root):
        return None
    return recorded


def check_home(root: Path, home: Path) -> None:
    """Refuse a state directory a server pointed at the root could reach, or one that
    holds files that are not corral's (or another root's state)."""
    problem = state_dir_problem(root, home)
    if problem is not None:
        raise TargetError(
            f"refusing to keep corral's state in {home}: {problem}",
            path=str(home),
            hint="set 'state_dir' (--state-dir, CORRAL_STATE_DIR) to a directory "
            "outside the root, or leave it unset for the default next to the root",
        )
    if (home / MARKER).is_file():
        other = foreign_owner(root, home, home / MARKER)
        if other is not None:
            raise TargetError(
                f"{home} holds corral's state of another root, {other}; nothing "
                "was changed (two roots sharing one state would prune each other's files)",
                path=str(home),
                hint="give each root its own 'state_dir' (--state-dir, CORRAL_STATE_DIR), "
                "or delete that directory if the other root is gone",
            )
        return
    foreign = _foreign_entries(home)
    if foreign:
        raise TargetError(
            f"{home} is not empty and is not corral's state directory "
            f"(it holds {foreign[0]!r}); nothing was changed",
            path=str(home),
            hint="point 'state_dir' (--state-dir, CORRAL_STATE_DIR) at a new or empty directory",
        )


def move_legacy_state(root: Path, legacy: Path, home: Path, *, wait: float) -> Problem | None:
    """Move a state kept in ``ROOT/.corral`` (corral 0.1.0.dev's layout) to ``home``.

    Call holding the lock of ``home``; the old lock is taken too, so a run of an older
    corral can't write meanwhile. Returns a notice (``state-moved``), or ``None`` if
    there was nothing to move. The marker moves last: a run killed meanwhile leaves the
    old directory authoritative; the next run moves it again.
    """
    from corral.lock import TargetLock  # noqa: PLC0415 - lock imports nothing of ours

    with TargetLock(legacy / "lock", root, wait=wait):
        if not owned_dir(legacy) or (home / MARKER).is_file():
            return None
        # The compression cache that older versions kept here is not moved: the
        # shared cache replaces it (see corral.build.compress.tidy_cache).
        names = [n for n in entries(legacy) if n not in _NOT_MOVED and _ours(n)]
        names.sort(key=lambda name: name == MARKER)
        for name in names:
            # What a killed move already moved is in ``home`` only; what is still in
            # the old place is authoritative (a copy across file systems may be partial).
            remove_tree(home / name)
            move(legacy / name, home / name)
        fsync_dir(home)
    remove_tree(legacy / "tmp")
    remove_tree(legacy / "cache")
    with contextlib.suppress(OSError):
        os.unlink(legacy / "lock")
    try:
        os.rmdir(legacy)
        left = ""
    except OSError:
        left = f"; {legacy} still holds files corral did not write: move them out"
    return Problem(
        "state-moved",
        f"moved corral's private state out of the served root, from {legacy} to {home}{left}",
        path=str(home),
        hint="nothing to do; point 'state_dir' elsewhere if this place does not suit",
    )


#: The names corral writes in its state directory.
_KNOWN = frozenset(
    {
        MARKER,
        "lock",
        ".gitignore",
        "state.json",
        "pending.json",
        "tmp",
        "releases",
        "cache",
    }
)

#: What a move of the old layout leaves behind (the lock, scratch files, the old cache).
_NOT_MOVED = frozenset({"lock", "tmp", "cache"})


def _ours(name: str) -> bool:
    return name in _KNOWN or (name.startswith("derived.") and name.endswith(".json"))


def _foreign_entries(directory: Path) -> list[str]:
    try:
        return sorted(name for name in os.listdir(directory) if not _ours(name))
    except (FileNotFoundError, NotADirectoryError):
        return []
