"""Template helpers shared by the Flask and Starlette integrations (Jinja2 or any engine).

::

    helpers = TemplateHelpers("/srv/static")          # reads corral-manifest.json
    env.globals.update(helpers.globals())             # Jinja2
    {{ corral_url("css/app.css") }}                   # /static/css/app.1a2b3c4d5e6f.css
    {{ corral_integrity("js/app.js") }}               # sha256-...

The manifest is read on first use and again whenever it is replaced (a new collect), so a
long-running app follows new releases without a restart.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from corral.contrib.lookups import cached_resolver
from corral.manifest import CORRAL_MANIFEST
from corral.resolver import Resolver

__all__ = ["TemplateHelpers"]


class TemplateHelpers:
    """Hashed URLs and SRI values of a collected root's files, for templates."""

    def __init__(
        self, root: str | os.PathLike[str], url: str | None = None, *, strict: bool = True
    ) -> None:
        self.manifest = Path(root) / CORRAL_MANIFEST
        self.url_prefix = url
        self.strict = strict

    def resolver(self) -> Resolver:
        """The resolver of the current manifest (re-read once it was replaced)."""
        resolver = cached_resolver(self.manifest, strict=self.strict, url=self.url_prefix)
        if resolver is None:  # no manifest (yet): the resolver says what to do
            return Resolver.from_manifest(self.manifest, strict=self.strict, url=self.url_prefix)
        return resolver

    def url(self, logical: str) -> str:
        """The URL of ``logical``'s hashed file (query and fragment kept)."""
        return self.resolver().url(logical)

    def integrity(self, logical: str) -> str:
        """The SRI value of ``logical``'s hashed file, for an ``integrity`` attribute."""
        return self.resolver().integrity(logical)

    def globals(self) -> dict[str, Callable[[str], Any]]:
        """``corral_url`` and ``corral_integrity``, for a template engine's globals."""
        return {"corral_url": self.url, "corral_integrity": self.integrity}
