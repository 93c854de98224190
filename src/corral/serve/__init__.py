"""Serve a collected root over HTTP: one responder, and its WSGI and ASGI forms.

::

    from corral.serve import WSGIApp, ASGIApp
    application = WSGIApp("/srv/static", url="/static/")   # gunicorn, granian --interface wsgi
    app = ASGIApp("/srv/static", url="/static/")           # uvicorn, granian, app.mount(...)

The middleware forms (:class:`WSGIMiddleware`, :class:`ASGIMiddleware`) put the same
responder in front of an application. Everything is built from the root's
``corral-manifest.json`` (see :mod:`corral.serve.responder` and docs/serving.md).
Names are imported on first use, so importing one adapter loads only what it needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from corral.serve.asgi import ASGIApp, ASGIMiddleware
    from corral.serve.responder import Responder, Response
    from corral.serve.wsgi import WSGIApp, WSGIMiddleware

__all__ = ["ASGIApp", "ASGIMiddleware", "Responder", "Response", "WSGIApp", "WSGIMiddleware"]

_LAZY = {
    "ASGIApp": "corral.serve.asgi",
    "ASGIMiddleware": "corral.serve.asgi",
    "Responder": "corral.serve.responder",
    "Response": "corral.serve.responder",
    "WSGIApp": "corral.serve.wsgi",
    "WSGIMiddleware": "corral.serve.wsgi",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'corral.serve' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
