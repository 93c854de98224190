"""The ASGI forms of the responder: an app serving a root on its own, and a middleware.

::

    app = ASGIApp("/srv/static", url="/static/")                 # or app.mount("/static", ...)
    app = ASGIMiddleware(django_asgi_app, "/srv/static", url="/static/")

Small files are answered from memory; a whole larger file goes out with
``http.response.pathsend`` when the server offers it (granian does), else in reads of
256 KiB done off the event loop. The middleware passes ``lifespan`` and ``websocket``
scopes (and every path outside ``url``) to the wrapped app.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from corral.serve.responder import HTTP_NAMES, ExtraHeaders, Responder, Response

__all__ = ["ASGIApp", "ASGIMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApplication = Callable[[Scope, Receive, Send], Awaitable[None]]

CHUNK = 256 * 1024


class ASGIApp:
    """An ASGI application serving the collected ``root`` under ``url``; 404 elsewhere."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        url: str = "/static/",
        *,
        max_age: int = 60,
        extra_headers: ExtraHeaders | None = None,
        responder: Responder | None = None,
    ) -> None:
        self.responder = responder or Responder(
            root, url, max_age=max_age, extra_headers=extra_headers
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await _serve(self.responder, scope, _path(scope, self.responder), send)
        elif kind == "lifespan":
            await _lifespan(receive, send)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1000})


class ASGIMiddleware:
    """Serve the root's files under ``url`` in front of ``app``; everything else goes to it."""

    def __init__(
        self,
        app: ASGIApplication,
        root: str | os.PathLike[str],
        url: str = "/static/",
        *,
        max_age: int = 60,
        extra_headers: ExtraHeaders | None = None,
        responder: Responder | None = None,
    ) -> None:
        self.app = app
        self.responder = responder or Responder(
            root, url, max_age=max_age, extra_headers=extra_headers
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = _path(scope, self.responder)
            if self.responder.handles(path):
                await _serve(self.responder, scope, path, send)
                return
        await self.app(scope, receive, send)


def _path(scope: Scope, responder: Responder) -> str:
    path: str = scope.get("path", "")
    if responder.handles(path):
        return path
    root_path: str = scope.get("root_path", "")
    return root_path + path if root_path and not path.startswith(root_path) else path


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


_WANTED = frozenset(name.encode() for name in HTTP_NAMES)


async def _serve(responder: Responder, scope: Scope, path: str, send: Send) -> None:
    raw: dict[str, str] = {}
    for key, value in scope.get("headers", ()):
        name = key.lower()
        if name in _WANTED:  # only the headers the responder reads are decoded
            text, name_str = value.decode("latin-1"), name.decode("latin-1")
            raw[name_str] = f"{raw[name_str]}, {text}" if name_str in raw else text
    response = responder.answer(scope.get("method", "GET"), path, raw.get, HTTP_NAMES)
    headers = response.raw_headers
    await send(
        {
            "type": "http.response.start",
            "status": response.code,
            "headers": list(headers)
            if headers
            else [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers],
        }
    )
    if response.file is None:
        await send({"type": "http.response.body", "body": response.body})
        return
    await _send_file(response, scope, send)


async def _send_file(response: Response, scope: Scope, send: Send) -> None:
    file = response.file
    assert file is not None
    try:
        if response.code == 200 and "http.response.pathsend" in scope.get("extensions", {}):
            await send({"type": "http.response.pathsend", "path": response.path})
            return
        fd = file.fileno()
        offset, left = response.offset, response.length
        loop = asyncio.get_running_loop()
        while left > 0:
            chunk = await loop.run_in_executor(None, os.pread, fd, min(CHUNK, left), offset)
            if not chunk:
                break
            offset += len(chunk)
            left -= len(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": left > 0})
        if left > 0 or response.length == 0:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        file.close()
