"""corral's ASGI app on its own, and in front of another ASGI app."""

from __future__ import annotations

import os
from typing import Any

from corral.serve import ASGIApp, ASGIMiddleware

ROOT = os.environ.get("STATIC_ROOT", "/tmp/static-root")


async def hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"the app behind the static files\n"})


static_only = ASGIApp(ROOT, url="/static/")
app = ASGIMiddleware(hello, ROOT, url="/static/")
