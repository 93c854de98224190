"""Where the shared compression cache lives, and the sizes and ages its limits take.

The cache is shared by every project and run of one user (or of one container
build, through a cache mount), so it lives outside any target. Its directory is,
first found wins:

1. ``--cache-dir DIR`` on the command line (or ``cache_dir`` passed by a caller);
2. the ``CORRAL_CACHE_DIR`` environment variable (CI and container builds set it);
3. ``cache_dir`` in ``[tool.corral]`` (relative to the ``pyproject.toml``);
4. ``$XDG_CACHE_HOME/corral``, else ``~/.cache/corral``.

The compressed variants are kept in its ``compress/`` subdirectory (see
:mod:`corral.compress.cache`); the rest of the directory is free for other caches.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from corral.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from corral.compress.cache import CompressionCache

#: The environment variable naming the shared compression cache directory.
CACHE_ENV = "CORRAL_CACHE_DIR"

#: Where versions before the shared cache kept it: ``<state dir>/cache``.
LEGACY_CACHE = "cache"

__all__ = [
    "CACHE_ENV",
    "LEGACY_CACHE",
    "default_cache_dir",
    "parse_age",
    "parse_size",
    "remove_legacy_cache",
    "resolve_cache_dir",
    "run_cache",
    "variants_dir",
]


_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_AGE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", re.IGNORECASE)
_AGE_UNITS = {"": 86400, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def default_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The platform's user cache directory for corral (``$XDG_CACHE_HOME/corral``)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "corral"


def resolve_cache_dir(
    flag: str | os.PathLike[str] | None = None,
    configured: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Path:
    """The cache directory: ``flag``, else ``$CORRAL_CACHE_DIR``, else ``configured``,
    else the default (relative values are taken from the current directory; the
    caller makes ``configured`` absolute against its ``pyproject.toml``)."""
    env = os.environ if environ is None else environ
    for value in (flag, env.get(CACHE_ENV) or None, configured):
        if value is not None and os.fspath(value) != "":
            return Path(os.path.abspath(os.path.expanduser(os.fspath(value))))
    return default_cache_dir(env)


def variants_dir(cache_dir: str | os.PathLike[str]) -> Path:
    """The directory of the compressed variants inside the shared cache directory."""
    return Path(cache_dir) / "compress"


def remove_legacy_cache(state_dir: Path) -> None:
    """Remove the cache versions before the shared one kept in a target's state directory."""
    legacy = state_dir / LEGACY_CACHE
    if legacy.is_dir() and not legacy.is_symlink():
        from corral.compress.cache import remove_tree  # noqa: PLC0415 - rarely needed

        remove_tree(legacy)


@contextlib.contextmanager
def run_cache(
    cache_dir: Path | None, scratch: Callable[[], str | os.PathLike[str]]
) -> Iterator[CompressionCache]:
    """The cache one run compresses through: the shared one in ``cache_dir``, or with
    none (``cache = false``) a private directory under ``scratch()``, removed afterwards."""
    import shutil  # noqa: PLC0415
    import tempfile  # noqa: PLC0415

    from corral.compress.cache import CompressionCache  # noqa: PLC0415

    if cache_dir is not None:
        yield CompressionCache(variants_dir(cache_dir))
        return
    private = tempfile.mkdtemp(prefix="nocache-", dir=scratch())
    try:
        yield CompressionCache(private)
    finally:
        shutil.rmtree(private, ignore_errors=True)


def parse_size(value: object, *, key: str = "cache_max_size") -> int:
    """Bytes from ``500M``, ``2G``, ``1.5GiB``, ``0`` or a whole number of bytes."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and (match := _SIZE.fullmatch(value)):
        number, unit, _suffix = match.groups()
        return int(float(number) * _SIZE_UNITS[unit.lower()])
    raise ConfigError(
        f"{key!r} must be a size such as 500M, 2G or a number of bytes; found {value!r}",
        hint="units: K, M, G, T (powers of 1024)",
        key=key,
    )


def parse_age(value: object, *, key: str = "older-than") -> float:
    """Seconds from ``30d``, ``12h``, ``90m``, ``2w`` or ``45s`` (a bare number: days)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value) * 86400
    if isinstance(value, str) and (match := _AGE.fullmatch(value)):
        number, unit = match.groups()
        return float(number) * _AGE_UNITS[unit.lower()]
    raise ConfigError(
        f"{key!r} must be an age such as 30d, 12h or 2w; found {value!r}",
        hint="units: s, m, h, d, w (a bare number means days)",
        key=key,
    )
