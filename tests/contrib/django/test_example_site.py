"""The README's example is a real Django site: collect its static files, render its pages.

A copy of ``examples/site`` runs ``manage.py collectstatic`` exactly as the README's first
command does; then its home page and the admin's login page are rendered with DEBUG off
(so ``{% static %}`` answers from the manifest), and every static URL they contain must be
a hashed name of a file that really is in ``STATIC_ROOT``, as must every reference in the
CSS and JS those pages load. Each step runs in a process of its own, as in production: the
copy's settings never meet this process's.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import os
import posixpath
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest

from ...conftest import need

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "site"
STATIC_URL = "/static/"
HASHED = re.compile(r"\.[0-9a-f]{12}(\.[^./]+)$")  # name.<md5[:12]>.ext, as Django names it

# What the home page loads (its logical names): the site's own files and the vendored ones.
HOME_ASSETS = {
    "css/site.css",
    "img/logo.svg",
    "js/app.js",
    "vendor/chartlite/chartlite.css",
}

RENDER = """
import json, os, sys
sys.path.insert(0, os.getcwd())
os.environ["DJANGO_SETTINGS_MODULE"] = "site_project.settings"
import django
django.setup()
from django.conf import settings
from django.test import Client
client = Client()
pages = {}
for path in sys.argv[1:]:
    response = client.get(path)
    pages[path] = {"status": response.status_code, "body": response.content.decode()}
json.dump(
    {
        "debug": settings.DEBUG,
        "static_url": settings.STATIC_URL,
        "static_root": str(settings.STATIC_ROOT),
        "pages": pages,
    },
    sys.stdout,
)
"""


@dataclass(frozen=True)
class Site:
    base: Path
    collect_output: str
    rendered: dict[str, object]

    @property
    def root(self) -> Path:
        return self.base / "static_root"

    def page(self, path: str) -> str:
        pages = self.rendered["pages"]
        assert isinstance(pages, dict)
        page = pages[path]
        assert page["status"] == 200, (path, page["body"][:2000])
        body = page["body"]
        assert isinstance(body, str)
        return body


def run(base: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env["DJANGO_DEBUG"] = "0"  # explicit: the pages must be served from the manifest
    return subprocess.run(
        [sys.executable, *args],
        cwd=base,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    need(importlib.util.find_spec("django") is not None, "the example site needs Django")
    base = tmp_path_factory.mktemp("example") / "site"
    shutil.copytree(
        EXAMPLE,
        base,
        ignore=shutil.ignore_patterns("static_root", "db.sqlite3", "__pycache__"),
    )
    collected = run(base, "manage.py", "collectstatic", "--noinput")
    assert collected.returncode == 0, collected.stdout + collected.stderr
    rendered = run(base, "-c", RENDER, "/", "/admin/login/")
    assert rendered.returncode == 0, rendered.stderr
    return Site(base, collected.stdout, json.loads(rendered.stdout))


class Tags(HTMLParser):
    """Every start tag's attributes, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


@dataclass(frozen=True)
class StaticRef:
    tag: str
    name: str  # the path under STATIC_ROOT the URL names
    integrity: str | None


def static_refs(html: str) -> list[StaticRef]:
    parser = Tags()
    parser.feed(html)
    parser.close()
    refs = []
    for tag, attrs in parser.tags:
        for attr in ("href", "src"):
            url = attrs.get(attr, "")
            if url.startswith(STATIC_URL):
                refs.append(StaticRef(tag, url[len(STATIC_URL) :], attrs.get("integrity")))
    return refs


def logical(name: str) -> str:
    return HASHED.sub(r"\1", name)


def assert_served(site: Site, name: str) -> Path:
    path = site.root / name
    assert path.is_file(), f"{name} is linked but not in STATIC_ROOT"
    return path


def verify_integrity(path: Path, integrity: str) -> None:
    data = path.read_bytes()
    tokens = integrity.split()
    assert tokens, "an empty integrity attribute"
    for token in tokens:
        algorithm, _, expected = token.partition("-")
        assert algorithm in ("sha256", "sha384", "sha512"), token
        digest = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
        assert digest == expected, f"{path.name}: {token} does not match the file's bytes"


def strip_css_comments(css: str) -> str:
    return re.sub(r"/\*.*?\*/", "", css, flags=re.S)


CSS_REFERENCE = re.compile(
    r"""url\(\s*(?P<q>['"]?)(?P<url>[^'")]*?)(?P=q)\s*\)"""
    r"""|@import\s+(?P<iq>['"])(?P<import>.*?)(?P=iq)"""
)
JS_IMPORT = re.compile(r"""(?:\bimport|\bfrom)\s*\(?\s*(['"])(\.{1,2}/[^'"]+)\1""")


def resolve(site: Site, referrer: str, reference: str) -> str | None:
    """The name under STATIC_ROOT that ``reference`` (found in ``referrer``) points to."""
    if not reference or reference.startswith(("data:", "#", "http:", "https:", "//")):
        return None
    reference = re.split(r"[?#]", reference, maxsplit=1)[0]
    if reference.startswith("/"):
        assert reference.startswith(STATIC_URL), f"{referrer}: {reference} is outside STATIC_URL"
        return reference[len(STATIC_URL) :]
    name = posixpath.normpath(posixpath.join(posixpath.dirname(referrer), reference))
    assert not name.startswith("../"), f"{referrer}: {reference} leaves STATIC_ROOT"
    return name


def check_css(site: Site, name: str, seen: set[str]) -> None:
    """Every url() and @import of a served CSS file is a hashed file in STATIC_ROOT."""
    if name in seen:
        return
    seen.add(name)
    css = strip_css_comments(assert_served(site, name).read_text(encoding="utf-8"))
    for match in CSS_REFERENCE.finditer(css):
        target = resolve(site, name, match["url"] if match["url"] is not None else match["import"])
        if target is None:
            continue
        assert HASHED.search(target), f"{name}: {target} was not rewritten to a hashed name"
        assert_served(site, target)
        if target.endswith(".css"):
            check_css(site, target, seen)


def check_js(site: Site, name: str) -> None:
    """Every relative ES module import of a served JS file names a file in STATIC_ROOT."""
    js = assert_served(site, name).read_text(encoding="utf-8")
    for match in JS_IMPORT.finditer(js):
        target = resolve(site, name, match[2])
        assert target is not None
        assert_served(site, target)


def check_page(site: Site, path: str) -> list[StaticRef]:
    manifest = json.loads((site.root / "staticfiles.json").read_text(encoding="utf-8"))
    refs = static_refs(site.page(path))
    assert refs, f"{path} links no static file"
    seen: set[str] = set()
    for ref in refs:
        file = assert_served(site, ref.name)
        assert HASHED.search(ref.name), f"{path}: {ref.name} is not a hashed name"
        assert manifest["paths"][logical(ref.name)] == ref.name
        if ref.integrity is not None:
            verify_integrity(file, ref.integrity)
        if ref.name.endswith(".css"):
            check_css(site, ref.name, seen)
        elif ref.name.endswith((".js", ".mjs")):
            check_js(site, ref.name)
    return refs


def test_collectstatic_collects_the_site(site: Site) -> None:
    assert "static files copied to" in site.collect_output
    assert (site.root / "staticfiles.json").is_file()
    # The site's own files, the vendored library under its prefix and the admin's files.
    for name in ("css/site.css", "vendor/chartlite/chartlite.js", "admin/css/base.css"):
        assert (site.root / name).is_file(), name


def test_collectstatic_leaves_out_what_the_site_ignores(site: Site) -> None:
    # site_project/apps.py: the same patterns as [tool.corral]'s ignore.
    assert (site.base / "assets/css/_theme.scss").is_file()
    assert not (site.root / "css/_theme.scss").exists()
    assert not (site.root / "js/drafts").exists()


def test_corral_collect_in_the_site_finds_what_collectstatic_published(site: Site) -> None:
    # The README: `corral collect` there collects the same sources into the same root.
    plan = run(site.base, "-m", "corral", "collect", "--dry-run", "--json")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    counts = json.loads(plan.stdout)["counts"]
    assert counts["unchanged"] > 100
    assert (counts["new"], counts["changed"], counts["removed"]) == (0, 0, 0)


def test_the_pages_are_rendered_from_the_manifest(site: Site) -> None:
    assert site.rendered["debug"] is False
    assert site.rendered["static_url"] == STATIC_URL
    assert Path(str(site.rendered["static_root"])) == site.root


def test_home_page_links_hashed_files_that_exist(site: Site) -> None:
    refs = check_page(site, "/")
    assert {logical(ref.name) for ref in refs} == HOME_ASSETS
    # The stylesheet's own references were rewritten: its image and its @import.
    [css] = [ref.name for ref in refs if logical(ref.name) == "css/site.css"]
    text = (site.root / css).read_text(encoding="utf-8")
    for original in ("img/paper.svg", "img/logo.svg", "reset.css"):
        assert posixpath.basename(original) not in text, original
    assert sum(1 for _ in CSS_REFERENCE.finditer(strip_css_comments(text))) == 3


def test_admin_login_page_links_hashed_files_that_exist(site: Site) -> None:
    refs = check_page(site, "/admin/login/")
    names = {logical(ref.name) for ref in refs}
    assert "admin/css/base.css" in names
    assert any(name.endswith(".js") for name in names)


def test_the_example_passes_djangos_checks(site: Site) -> None:
    checked = run(site.base, "manage.py", "check", "--fail-level", "WARNING")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_runserver_shows_the_page_with_its_styles_and_scripts(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Out of the box (no DJANGO_DEBUG, nothing collected): the development server serves
    the page and every static file it links, from the sources."""
    need(importlib.util.find_spec("django") is not None, "the example site needs Django")
    base = tmp_path_factory.mktemp("runserver") / "site"
    shutil.copytree(EXAMPLE, base, ignore=shutil.ignore_patterns("static_root", "db.sqlite3"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    log = (base.parent / "runserver.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=base,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        page = _get(f"http://127.0.0.1:{port}/", server)
        refs = static_refs(page.decode())
        assert {ref.name for ref in refs} == HOME_ASSETS  # the names as written, unhashed
        for ref in refs:
            served = _get(f"http://127.0.0.1:{port}{STATIC_URL}{ref.name}", server)
            source = base / "assets" / ref.name
            if not source.exists():
                source = base / ref.name  # vendor/chartlite/...: the vendor directory
            assert served == source.read_bytes(), ref.name
            if ref.integrity is not None:
                verify_integrity(source, ref.integrity)
        assert not (base / "static_root").exists()  # nothing collected: served from sources
    finally:
        server.terminate()
        server.wait(10)
        log.close()


def _get(url: str, server: subprocess.Popen[bytes]) -> bytes:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                assert response.status == 200, url
                return bytes(response.read())
        except urllib.error.HTTPError as error:
            raise AssertionError(f"{url}: HTTP {error.code}") from None
        except (urllib.error.URLError, ConnectionError):
            if server.poll() is not None:
                raise AssertionError(f"runserver exited {server.returncode}") from None
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
