"""corral's WSGI app on its own, and in front of another WSGI app."""

from __future__ import annotations

import os

from corral.serve import WSGIApp, WSGIMiddleware

ROOT = os.environ.get("STATIC_ROOT", "/tmp/static-root")


def hello(environ: dict[str, object], start_response: object) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])  # type: ignore[operator]
    return [b"the app behind the static files\n"]


static_only = WSGIApp(ROOT, url="/static/")
application = WSGIMiddleware(hello, ROOT, url="/static/")
