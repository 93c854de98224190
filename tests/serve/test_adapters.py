"""The middleware forms under real servers: static paths are answered, the rest (and
lifespan and websocket scopes) reach the wrapped application."""

from __future__ import annotations

import asyncio

import pytest
from websockets.sync.client import connect

from tests.conftest import need
from tests.serve import servers
from tests.serve.conftest import Site


@pytest.mark.parametrize("kind", ["gunicorn", "granian-wsgi"])
def test_wsgi_middleware(kind: str, site: Site, tmp_path_factory: pytest.TempPathFactory) -> None:
    need(servers.have(kind.split("-", maxsplit=1)[0]), f"{kind} is not installed")
    argv, port = servers.python_server(kind, "_mw")
    env = {"CORRAL_TEST_ROOT": str(site.root)}
    with servers.running(argv, port, tmp_path_factory.mktemp("log"), env):
        entry = site.manifest.files["big/blob.bin"]
        static = servers.request(port, "/static/" + entry.hashed)
        assert static.status == 200
        assert static.body == (site.root / entry.hashed).read_bytes()  # via wsgi.file_wrapper
        assert servers.request(port, "/static/nope.css").header("cache-control") == "no-store"
        other = servers.request(port, "/admin/x")
        assert (other.status, other.body) == (200, b"app:/admin/x")


@pytest.mark.parametrize("kind", ["uvicorn", "granian-asgi"])
def test_asgi_middleware(kind: str, site: Site, tmp_path_factory: pytest.TempPathFactory) -> None:
    need(servers.have(kind.split("-", maxsplit=1)[0]), f"{kind} is not installed")
    argv, port = servers.python_server(kind, "_mw")
    env = {"CORRAL_TEST_ROOT": str(site.root)}
    with servers.running(argv, port, tmp_path_factory.mktemp("log"), env):
        entry = site.manifest.files["big/blob.bin"]
        static = servers.request(port, "/static/" + entry.hashed, {"Range": "bytes=10-20"})
        assert static.status == 206
        assert static.body == (site.root / entry.hashed).read_bytes()[10:21]
        whole = servers.request(port, "/static/" + entry.hashed)
        assert whole.body == (site.root / entry.hashed).read_bytes()
        other = servers.request(port, "/api/x")
        assert other.status == 200
        assert other.body == b"app:/api/x:lifespan=up"  # the app saw the lifespan startup
        with connect(f"ws://127.0.0.1:{port}/ws") as ws:
            assert ws.recv(timeout=5) == "ws-ok"


def test_asgi_uses_pathsend_when_offered_and_reads_otherwise(site: Site) -> None:
    from corral.serve import ASGIApp  # noqa: PLC0415

    app = ASGIApp(site.root, url="/static/")
    entry = site.manifest.files["big/blob.bin"]

    def call(extensions: dict[str, object]) -> list[dict[str, object]]:
        sent: list[dict[str, object]] = []

        async def receive() -> dict[str, object]:
            return {"type": "http.request"}

        async def send(message: dict[str, object]) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": "/static/" + entry.hashed,
                 "headers": [], "extensions": extensions}  # fmt: skip
        asyncio.run(app(scope, receive, send))
        return sent

    offered = call({"http.response.pathsend": {}})
    assert [m["type"] for m in offered] == ["http.response.start", "http.response.pathsend"]
    assert offered[1]["path"] == str(site.root / entry.hashed)
    plain = call({})
    bodies = [m for m in plain if m["type"] == "http.response.body"]
    assert len(bodies) == entry.size // (256 * 1024)  # 256 KiB reads
    assert b"".join(m["body"] for m in bodies) == (site.root / entry.hashed).read_bytes()  # type: ignore[misc]
    assert bodies[-1].get("more_body") is False


@pytest.mark.parametrize(
    ("wrapper", "span"),
    [
        (None, (10, 300_000)),
        (None, (4000, 65_536)),
        ("wsgiref", (10, 300_000)),
        ("wsgiref", (0, 3 * 1024 * 1024)),
    ],
)
def test_wsgi_sends_a_range_through_the_file_wrapper_or_reads_it(
    site: Site, wrapper: str | None, span: tuple[int, int]
) -> None:
    """A file_wrapper that reads (wsgiref's) gets a file that ends where the range does;
    gunicorn's sendfile of a range is covered by the conformance table."""
    from wsgiref.util import FileWrapper  # noqa: PLC0415

    from corral.serve import WSGIApp  # noqa: PLC0415

    entry = site.manifest.files["big/blob.bin"]
    start, length = span
    environ: dict[str, object] = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/static/" + entry.hashed,
        "HTTP_RANGE": f"bytes={start}-{start + length - 1}",
    }
    if wrapper:
        environ["wsgi.file_wrapper"] = FileWrapper
    started: list[tuple[str, list[tuple[str, str]]]] = []
    body = WSGIApp(site.root)(environ, lambda status, headers: started.append((status, headers)))
    try:
        data = b"".join(body)
    finally:
        if hasattr(body, "close"):
            body.close()
    # without a file_wrapper, a range of up to 256 KiB is read at once and handed over
    # as a list (its file closed already); a longer one is an iterator of reads
    assert isinstance(body, list) == (wrapper is None and length <= 256 * 1024)
    assert started[0][0] == "206 Partial Content"
    assert dict(started[0][1])["Content-Length"] == str(length)
    assert data == (site.root / entry.hashed).read_bytes()[start : start + length]
