"""The applications `serve.py` benchmarks, chosen by BENCH_APP, serving BENCH_ROOT at /static/.

corral_wsgi / corral_asgi: corral.serve's contract entry points; whitenoise_wsgi:
WhiteNoise 6 in front of a 404 app; servestatic_asgi: ServeStatic's ASGI form likewise.
"""

from __future__ import annotations

import os
from typing import Any

ROOT = os.environ["BENCH_ROOT"]
KIND = os.environ["BENCH_APP"]


def _not_found_wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("404 Not Found", [("Content-Length", "0")])
    return []


async def _not_found_asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 404, "headers": []})
    await send({"type": "http.response.body", "body": b""})


app: Any
if KIND == "corral_wsgi":
    from corral.serve import WSGIApp

    app = WSGIApp(ROOT, url="/static/")
elif KIND == "corral_asgi":
    from corral.serve import ASGIApp

    app = ASGIApp(ROOT, url="/static/")
elif KIND == "whitenoise_wsgi":
    from whitenoise import WhiteNoise

    app = WhiteNoise(_not_found_wsgi, root=ROOT, prefix="/static/", max_age=31536000)
elif KIND == "servestatic_asgi":
    from servestatic import ServeStaticASGI

    app = ServeStaticASGI(_not_found_asgi, root=ROOT, prefix="/static/", max_age=31536000)
else:
    raise SystemExit(f"unknown BENCH_APP {KIND!r}")
