"""The middleware forms under real servers: static paths are answered, the rest (and
lifespan and websocket scopes) reach the wrapped application."""

from __future__ import annotations

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
