"""CorralMiddleware under real servers: static paths answered (the conformance table runs
it too), the rest reaching Django, DEBUG serving from the finders, and a clear start-up
error without a manifest."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import need
from tests.serve import servers
from tests.serve.conftest import Site, make_site


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return make_site(tmp_path_factory)


@pytest.mark.parametrize("kind", ["gunicorn", "uvicorn"])
def test_other_paths_reach_django(
    kind: str, site: Site, tmp_path_factory: pytest.TempPathFactory
) -> None:
    need(servers.have(kind), f"{kind} is not installed")
    argv, port = servers.python_server(kind, module="django_apps")
    env = {"CORRAL_TEST_ROOT": str(site.root)}
    with servers.running(argv, port, tmp_path_factory.mktemp("log"), env):
        assert servers.request(port, "/app/").body == b"django:/app/"
        entry = site.manifest.files["big/blob.bin"]  # streamed, not from memory
        reply = servers.request(port, "/static/" + entry.hashed, {"Range": "bytes=5-9"})
        assert (reply.status, reply.body) == (206, (site.root / entry.hashed).read_bytes()[5:10])
        whole = servers.request(port, "/static/" + entry.hashed)
        assert whole.body == (site.root / entry.hashed).read_bytes()
        assert whole.header("content-disposition") is None
        assert whole.header("cache-control") == "public, max-age=31536000, immutable"


@pytest.mark.parametrize("kind", ["gunicorn", "uvicorn"])
def test_debug_serves_the_sources_from_the_finders_uncached(
    kind: str, site: Site, tmp_path_factory: pytest.TempPathFactory
) -> None:
    need(servers.have(kind), f"{kind} is not installed")
    argv, port = servers.python_server(kind, module="django_apps")
    src = site.root.parent / "src"
    env = {
        "CORRAL_TEST_ROOT": str(tmp_path_factory.mktemp("empty")),  # no manifest needed
        "CORRAL_TEST_SOURCES": str(src),
        "CORRAL_TEST_DEBUG": "1",
    }
    with servers.running(argv, port, tmp_path_factory.mktemp("log"), env):
        reply = servers.request(port, "/static/css/app.css")
        assert reply.status == 200
        assert reply.body == (src / "css" / "app.css").read_bytes()  # the source, unhashed
        assert reply.header("cache-control") == "no-cache"
        missing = servers.request(port, "/static/css/nope.css")
        assert (missing.status, missing.header("cache-control")) == (404, "no-store")


def test_no_manifest_is_a_clear_start_up_error(tmp_path: Path) -> None:
    code = "import django_apps"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=servers.HERE,
        env={"CORRAL_TEST_ROOT": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert str(tmp_path / "corral-manifest.json") in result.stderr
    assert "collectstatic" in result.stderr
