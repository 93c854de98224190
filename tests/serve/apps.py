"""The applications the real servers load: corral's contract entry points on a test root."""

from __future__ import annotations

import os

from corral.serve import ASGIApp, ASGIMiddleware, WSGIApp, WSGIMiddleware

ROOT = os.environ["CORRAL_TEST_ROOT"]
URL = os.environ.get("CORRAL_TEST_URL", "/static/")

wsgi = WSGIApp(ROOT, url=URL)
asgi = ASGIApp(ROOT, url=URL)


def _hello_wsgi(environ: dict[str, object], start_response: object) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])  # type: ignore[operator]
    return [b"app:" + str(environ["PATH_INFO"]).encode()]


STARTED: list[str] = []


async def _hello_asgi(scope: dict[str, object], receive: object, send: object) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()  # type: ignore[operator]
            if message["type"] == "lifespan.startup":
                STARTED.append("up")
                await send({"type": "lifespan.startup.complete"})  # type: ignore[operator]
            else:
                await send({"type": "lifespan.shutdown.complete"})  # type: ignore[operator]
                return
    elif scope["type"] == "websocket":
        await receive()  # type: ignore[operator]
        await send({"type": "websocket.accept"})  # type: ignore[operator]
        await send({"type": "websocket.send", "text": "ws-ok"})  # type: ignore[operator]
        await send({"type": "websocket.close"})  # type: ignore[operator]
    else:
        body = f"app:{scope['path']}:lifespan={','.join(STARTED)}".encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": body})  # type: ignore[operator]


wsgi_mw = WSGIMiddleware(_hello_wsgi, ROOT, url=URL)
asgi_mw = ASGIMiddleware(_hello_asgi, ROOT, url=URL)
