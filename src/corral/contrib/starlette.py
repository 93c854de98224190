"""corral for Starlette and FastAPI: a mountable app and the Jinja2 template helpers.

::

    from starlette.applications import Starlette      # or fastapi.FastAPI
    from starlette.templating import Jinja2Templates
    from corral.contrib.starlette import StaticFiles, template_helpers

    app = Starlette()
    app.mount("/static", StaticFiles("/srv/static", url="/static/"), name="static")
    templates = Jinja2Templates(directory="templates")
    template_helpers(templates, "/srv/static", url="/static/")
    # {{ corral_url("css/app.css") }}  {{ corral_integrity("js/app.js") }}

``StaticFiles`` is :class:`corral.serve.ASGIApp`: mount it at the path its ``url`` names.
"""

from __future__ import annotations

import os
from typing import Any

from corral.contrib.templates import TemplateHelpers
from corral.serve.asgi import ASGIApp

__all__ = ["StaticFiles", "template_helpers"]

StaticFiles = ASGIApp


def template_helpers(
    templates: Any, root: str | os.PathLike[str], url: str | None = None
) -> TemplateHelpers:
    """Add ``corral_url`` and ``corral_integrity`` to a ``Jinja2Templates``' globals."""
    helpers = TemplateHelpers(root, url)
    templates.env.globals.update(helpers.globals())
    return helpers
