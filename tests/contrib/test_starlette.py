"""The Starlette integration, for real: StaticFiles mounted, templates, under uvicorn."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from tests.conftest import need
from tests.serve import servers
from tests.serve.conftest import Site, make_site

APPS = Path(__file__).parent / "apps"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return make_site(tmp_path_factory)


def test_mounted_and_templated(site: Site, tmp_path: Path) -> None:
    need(
        importlib.util.find_spec("starlette") is not None,
        "starlette is not installed (the test extra)",
    )
    need(servers.have("uvicorn"), "uvicorn is not installed")
    argv, port = servers.python_server("uvicorn", module="starlette_app", where=APPS)
    with servers.running(argv, port, tmp_path, {"CORRAL_TEST_ROOT": str(site.root)}):
        page = servers.request(port, "/").body.decode()
        entry = site.manifest.files["css/app.css"]
        assert f'href="/static/{entry.hashed}"' in page
        assert f'integrity="{entry.integrity}"' in page
        served = servers.request(port, "/static/" + entry.hashed, {"Accept-Encoding": "gzip"})
        assert served.status == 200
        assert served.body == (site.root / entry.encodings["gzip"].path).read_bytes()
        assert re.match(r'"[0-9a-f]{32}"', served.header("etag") or "")
        assert servers.request(port, "/static/../secret.txt").status == 404
