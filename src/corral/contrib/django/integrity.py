"""Subresource Integrity for static files, the way ``{% static %}`` serves them."""

from __future__ import annotations

import os

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage

from corral.contrib.lookups import bare, cached_resolver, file_integrity
from corral.manifest import CORRAL_MANIFEST

__all__ = ["integrity"]


def integrity(path: str) -> str:
    """The SRI value (``sha256-…``, or as the storage's ``integrity`` option says) of
    the file ``{% static path %}`` names; ``""`` if there is none.

    With ``DEBUG``, the source file the finders find (what the development server
    serves); otherwise the published file, from corral's manifest when there is one.
    """
    name = bare(path)
    algorithm = str(getattr(staticfiles_storage, "integrity_algorithm", "sha256"))
    if settings.DEBUG:
        found = finders.find(name)
        return file_integrity(found, algorithm) if isinstance(found, str) else ""
    lookup = getattr(staticfiles_storage, "integrity", None)
    if lookup is not None:
        return str(lookup(name))
    location = getattr(staticfiles_storage, "location", None)
    if location:
        served = getattr(staticfiles_storage, "stored_name", lambda n: n)(name)
        resolver = cached_resolver(os.path.join(location, CORRAL_MANIFEST), strict=False)
        # corral's manifest only when it lists the very file {% static %} serves: one
        # left by an earlier fingerprinting run may name another (a plain storage now).
        if resolver is not None and name in resolver and resolver.hashed(name) == served:
            return str(resolver.integrity(name))
        return file_integrity(os.path.join(location, served), algorithm)
    return ""
