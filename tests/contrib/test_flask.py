"""The Flask extension, for real: `flask corral collect`, then gunicorn serving the app."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import need, write_tree
from tests.serve import servers

APPS = Path(__file__).parent / "apps"


def test_collect_then_serve(tmp_path: Path) -> None:
    need(importlib.util.find_spec("flask") is not None, "flask is not installed (the test extra)")
    need(servers.have("gunicorn"), "gunicorn is not installed")
    src = write_tree(tmp_path / "src", {"js/main.js": "console.log(1);\n" * 100})
    root = tmp_path / "root"
    env = {"CORRAL_TEST_SOURCES": str(src), "CORRAL_TEST_ROOT": str(root)}
    flask = Path(sys.executable).parent / "flask"
    done = subprocess.run(
        [str(flask), "--app", "flask_app", "corral", "collect"],
        cwd=APPS,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "release 1" in done.stdout
    argv, port = servers.python_server("gunicorn", module="flask_app", where=APPS)
    with servers.running(argv, port, tmp_path, env):
        page = servers.request(port, "/").body.decode()
        found = re.search(r'src="([^"]+)" integrity="([^"]+)"', page)
        assert found is not None, page
        url, sri = found.groups()
        assert re.fullmatch(r"/static/js/main\.[0-9a-f]{12}\.js", url)
        assert sri.startswith("sha256-")
        served = servers.request(port, url, {"Accept-Encoding": "br"})
        assert served.status == 200
        assert served.header("cache-control") == "public, max-age=31536000, immutable"
        assert served.header("content-encoding") == "br"
        assert servers.request(port, "/static/nope.js").header("cache-control") == "no-store"
