"""Where a root's private state lives, and whether a state directory may serve it.

The state directory is never inside the root (a server pointed at the root could read
it) and never shared by two roots: a state that lists another root's files would make
this root's run prune files corral never wrote here.
"""

from __future__ import annotations

import os
from pathlib import Path

from corral import jsonio

__all__ = [
    "ENV_VAR",
    "default_location",
    "foreign_owner",
    "state_dir_problem",
    "state_location",
]

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
