"""A real browser loads the example site (examples/site): through corral's Django
middleware under gunicorn, and through nginx with the generated configuration in front of
the same Django. Chromium (Debian's, driven by Playwright) must see no failed request and
no console error, verify the SRI integrity of the module script, load the stylesheet's
background image and the module's import chain, and receive compressed responses. A
screenshot of each run is kept (CORRAL_ARTIFACTS, default build/test-artifacts/)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from corral.serve.webserver import nginx_config
from tests.conftest import need
from tests.serve import servers

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "site"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(os.environ.get("CORRAL_ARTIFACTS", REPO / "build" / "test-artifacts"))


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the example site, collected with its own `manage.py collectstatic`."""
    site = tmp_path_factory.mktemp("example") / "site"
    shutil.copytree(EXAMPLE, site, ignore=shutil.ignore_patterns("static_root", "*.sqlite3"))
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=site,
        check=True,
        env={**os.environ, "DJANGO_DEBUG": ""},
    )
    os.chmod(site.parent, 0o755)
    return site


@pytest.fixture(scope="module")
def django_port(example: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    need(servers.have("gunicorn"), "gunicorn is not installed")
    port = servers.free_port()
    argv = [str(servers.BIN / "gunicorn"), "-w", "1", "--threads", "4"]
    argv += ["-b", f"127.0.0.1:{port}", "--chdir", str(example), "site_project.wsgi"]
    with servers.running(argv, port, tmp_path_factory.mktemp("log"), {"DJANGO_DEBUG": ""}):
        yield port


def _nginx(example: Path, django: int, workdir: Path) -> tuple[list[str], int]:
    port = servers.free_port()
    maps = nginx_config(example / "static_root", "/static/", part="http")
    snippet = nginx_config(example / "static_root", "/static/", part="server")
    conf = workdir / "nginx.conf"
    conf.write_text(
        "load_module /usr/lib/nginx/modules/ngx_http_brotli_static_module.so;\n"
        "daemon off; user root root; pid nginx.pid; error_log stderr warn;\n"
        "events { worker_connections 256; }\n"
        "http { access_log off; client_body_temp_path body; proxy_temp_path proxy;\n"
        "fastcgi_temp_path fastcgi; uwsgi_temp_path uwsgi; scgi_temp_path scgi;\n"
        f"{maps}\n"
        f"server {{ listen 127.0.0.1:{port};\n{snippet}\n"
        f"location / {{ proxy_pass http://127.0.0.1:{django}; proxy_set_header Host $host; }}\n"
        "}}\n"
    )
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    return [nginx, "-e", "stderr", "-p", str(workdir), "-c", str(conf)], port


def _load(url: str, shot: Path, tmp: Path) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    failed: list[str] = []
    errors: list[str] = []
    encodings: dict[str, str] = {}
    with sync_playwright() as p:
        env = {**os.environ, "XDG_CONFIG_HOME": str(tmp / "cfg"), "XDG_CACHE_HOME": str(tmp)}
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, env=env)
        try:
            page = browser.new_page()
            page.on("console", lambda m: m.type == "error" and errors.append(m.text))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("requestfailed", lambda r: failed.append(f"{r.url} {r.failure}"))

            def response(r: Any) -> None:
                if r.status >= 400:
                    failed.append(f"{r.url} {r.status}")
                encodings[r.url] = r.headers.get("content-encoding", "")

            page.on("response", response)
            page.goto(url, wait_until="load")
            page.wait_for_function("document.querySelectorAll('#chart span').length === 8")
            background = page.evaluate("getComputedStyle(document.body).backgroundImage")
            images = page.evaluate(
                "performance.getEntriesByType('resource').map(e => e.name)"
                ".filter(n => n.endsWith('.svg'))"
            )
            integrity = page.evaluate(
                "document.querySelector('script[type=module]').getAttribute('integrity')"
            )
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    return {
        "failed": failed,
        "errors": errors,
        "encodings": encodings,
        "background": background,
        "images": images,
        "integrity": integrity,
    }


def _check(seen: dict[str, Any], shot: Path) -> None:
    assert seen["failed"] == []
    assert seen["errors"] == []
    # the module ran (its import of chartlite.js loaded, SRI verified: a wrong hash blocks it)
    assert seen["integrity"].startswith("sha256-")
    assert "paper." in seen["background"] and ".svg" in seen["background"]
    assert any("/static/img/paper." in url for url in seen["images"])
    css = [u for u in seen["encodings"] if "/static/css/site." in u]
    assert css and all(seen["encodings"][u] in ("br", "zstd", "gzip") for u in css)
    assert shot.stat().st_size > 1000


@pytest.fixture(scope="module")
def browser_ready() -> None:
    need(os.path.exists(CHROMIUM), "chromium is not installed (scripts/install-serving-deps.sh)")
    try:
        import playwright  # noqa: F401, PLC0415
    except ImportError:
        need(False, "playwright is not installed (pip install -e '.[test]')")


def test_through_corrals_django_middleware(
    browser_ready: None, django_port: int, tmp_path: Path
) -> None:
    shot = ARTIFACTS / "browser-django-middleware.png"
    seen = _load(f"http://127.0.0.1:{django_port}/", shot, tmp_path)
    _check(seen, shot)


def test_through_nginx_with_the_generated_configuration(
    browser_ready: None, example: Path, django_port: int, tmp_path: Path
) -> None:
    need(servers.have("nginx"), "nginx is not installed (scripts/install-serving-deps.sh)")
    argv, port = _nginx(example, django_port, tmp_path)
    with servers.running(argv, port, tmp_path):
        shot = ARTIFACTS / "browser-nginx.png"
        seen = _load(f"http://127.0.0.1:{port}/", shot, tmp_path)
    _check(seen, shot)
