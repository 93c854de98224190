"""Subresource Integrity for static files, the way ``{% static %}`` serves them."""

from __future__ import annotations

import base64
import hashlib
import os
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage

__all__ = ["integrity"]

_resolvers: dict[str, tuple[tuple[int, int], Any]] = {}


def integrity(path: str) -> str:
    """``sha384-…`` of the file ``{% static path %}`` names; ``""`` if there is none.

    With ``DEBUG``, the source file the finders find (what the development server
    serves); otherwise the published file, from corral's manifest when there is one.
    """
    name = path.split("?", 1)[0].split("#", 1)[0]
    if settings.DEBUG:
        found = finders.find(name)
        return _of_file(found) if isinstance(found, str) else ""
    lookup = getattr(staticfiles_storage, "integrity", None)
    if lookup is not None:
        return str(lookup(name))
    location = getattr(staticfiles_storage, "location", None)
    if location:
        served = getattr(staticfiles_storage, "stored_name", lambda n: n)(name)
        resolver = _resolver(os.path.join(location, "corral-manifest.json"))
        # corral's manifest only when it lists the very file {% static %} serves: one
        # left by an earlier fingerprinting run may name another (a plain storage now).
        if resolver is not None and name in resolver and resolver.hashed(name) == served:
            return str(resolver.integrity(name))
        return _of_file(os.path.join(location, served))
    return ""


def _resolver(manifest: str) -> Any:
    from corral.fingerprint import Resolver  # noqa: PLC0415

    try:
        st = os.stat(manifest)
    except FileNotFoundError:
        return None
    stamp = (st.st_ino, st.st_mtime_ns)
    cached = _resolvers.get(manifest)
    if cached is None or cached[0] != stamp:
        cached = (stamp, Resolver.from_manifest(manifest, strict=False))
        _resolvers[manifest] = cached
    return cached[1]


def _of_file(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            digest = hashlib.file_digest(fh, "sha384").digest()
    except OSError:
        return ""
    return "sha384-" + base64.b64encode(digest).decode()
