"""What every framework integration asks of a collected root, framework-free.

Django's storage and ``{% sri %}`` tag, and the Flask and Starlette template helpers
(:mod:`corral.contrib.templates`), all look up hashed URLs and SRI values the same way:

* :func:`cached_resolver` — the root's ``corral-manifest.json`` as a
  :class:`~corral.resolver.Resolver`, read once and again only when the file is replaced
  (a new collect renames a new manifest into place), so a long-running app follows new
  releases without a restart;
* :func:`bare` — a static path without its query string or fragment;
* :func:`file_integrity` — the SRI value of a file on disk, for files no manifest lists.

Import-light, as the resolver is: no Django, no pipeline code.
"""

from __future__ import annotations

import hashlib
import os

from corral.digest import sri_value
from corral.resolver import Resolver

__all__ = ["bare", "cached_resolver", "file_integrity"]

_Key = tuple[str, bool, str | None]
_resolvers: dict[_Key, tuple[tuple[int, int], Resolver]] = {}


def bare(name: str) -> str:
    """A static path without its query string or fragment."""
    return name.split("?", 1)[0].split("#", 1)[0]


def cached_resolver(
    manifest: str | os.PathLike[str], *, strict: bool, url: str | None = None
) -> Resolver | None:
    """corral's manifest at ``manifest`` as a Resolver, reloaded when the file is replaced.

    ``url`` overrides the manifest's URL prefix (see :meth:`Resolver.from_manifest`).
    ``None`` when there is no such file.
    """
    path = os.fspath(manifest)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    stamp = (st.st_ino, st.st_mtime_ns)
    key = (path, strict, url)
    cached = _resolvers.get(key)
    if cached is None or cached[0] != stamp:
        cached = (stamp, Resolver.from_manifest(path, strict=strict, url=url))
        _resolvers[key] = cached
    return cached[1]


def file_integrity(path: str, algorithm: str = "sha256") -> str:
    """The SRI value (``sha256-…``) of the file at ``path``; ``""`` if it can't be read."""
    try:
        with open(path, "rb") as fh:
            digest = hashlib.file_digest(fh, algorithm).digest()
    except OSError:
        return ""
    return sri_value(algorithm, digest)
