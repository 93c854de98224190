"""The applications `serve.py` benchmarks, chosen by BENCH_APP, serving BENCH_ROOT at /static/.

corral_wsgi / corral_asgi: corral.serve's contract entry points; whitenoise_wsgi:
WhiteNoise 6 in front of a 404 app; servestatic_asgi: ServeStatic's ASGI form likewise.
null_wsgi / null_asgi: the least a Python app can do on a server, the ceiling any of them
can reach there: every answer made in advance and held in memory (the scenario is told by
the request's headers; nothing is checked), so its req/s is the server's own cost.
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


def _null_answers() -> dict[str, tuple[int, list[tuple[str, str]], bytes]]:
    """Each scenario's answer, made once: the body a real server would send (the brotli
    variant where there is one) and the headers, ETag included."""
    import json  # noqa: PLC0415

    with open(os.path.join(ROOT, "corral-manifest.json"), "rb") as file:
        files = json.loads(file.read())["files"]
    answers = {}
    for logical, entry in files.items():
        variant = entry.get("encodings", {}).get("br")
        path = variant["path"] if variant else entry["hashed"]
        with open(os.path.join(ROOT, path), "rb") as file:
            body = file.read()
        headers = [("Content-Type", entry["content_type"]), ("ETag", '"x"'),
                   ("Cache-Control", "public, max-age=31536000, immutable"),
                   ("Content-Length", str(len(body)))]  # fmt: skip
        if variant:
            headers.append(("Content-Encoding", "br"))
        answers["/static/" + entry["hashed"]] = (200, headers, body)
        del logical
    return answers


class _NullWSGI:
    def __init__(self) -> None:
        self.answers = _null_answers()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if "HTTP_IF_NONE_MATCH" in environ:
            start_response("304 Not Modified", [("ETag", '"x"')])
            return []
        status, headers, body = self.answers[environ["PATH_INFO"]]
        if "HTTP_RANGE" in environ:  # the benchmark's one range: 64 KiB from 4,000,000
            part = body[4000000:4065536]
            start_response("206 Partial Content", [("Content-Length", str(len(part)))])
            return [part]
        start_response(f"{status} OK", headers)
        return [body]


class _NullASGI:
    def __init__(self) -> None:
        self.answers = {
            path: (status, [(k.lower().encode(), v.encode()) for k, v in headers], body)
            for path, (status, headers, body) in _null_answers().items()
        }

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        names = {key for key, _ in scope["headers"]}
        if b"if-none-match" in names:
            await send({"type": "http.response.start", "status": 304,
                        "headers": [(b"etag", b'"x"')]})  # fmt: skip
            await send({"type": "http.response.body", "body": b""})
            return
        status, headers, body = self.answers[scope["path"]]
        if b"range" in names:
            body = body[4000000:4065536]
            status, headers = 206, [(b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


app: Any
if KIND == "null_wsgi":
    app = _NullWSGI()
elif KIND == "null_asgi":
    app = _NullASGI()
elif KIND == "corral_wsgi":
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
