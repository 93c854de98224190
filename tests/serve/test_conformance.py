"""One table, every server: corral's WSGI and ASGI apps under real servers (and, with
the generated configurations, nginx and Caddy) answer each request the same way."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import need
from tests.serve import servers
from tests.serve.cases import CASES, TRAVERSAL, Case, leaked
from tests.serve.conftest import Site

SERVERS = [
    "gunicorn",
    "uvicorn",
    "granian-asgi",
    "django-gunicorn",
    "django-uvicorn",
    "nginx",
    "caddy",
]
WEB_SERVERS = {"nginx": "/usr/sbin/nginx", "caddy": "/usr/bin/caddy"}


@pytest.fixture(scope="module", params=SERVERS)
def server(
    request: pytest.FixtureRequest, site: Site, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, int]]:
    kind: str = request.param
    program = kind.removeprefix("django-").split("-", maxsplit=1)[0]
    need(servers.have(program), f"{kind} is not installed (bash scripts/install-serving-deps.sh)")
    if kind.startswith("django-"):
        argv, port = servers.python_server(program, module="django_apps")
        env = {"CORRAL_TEST_ROOT": str(site.root)}
    elif kind in ("nginx", "caddy"):
        argv, port, env = servers.web_server(kind, site.root, tmp_path_factory.mktemp(kind))
    else:
        argv, port = servers.python_server(kind)
        env = {"CORRAL_TEST_ROOT": str(site.root)}
    with servers.running(argv, port, tmp_path_factory.mktemp("log"), env):
        yield kind, port


def check(case: Case, site: Site, kind: str, port: int) -> servers.Reply:
    reply = servers.request(port, case.target(site), case.headers, case.method)
    program = kind.split("-", maxsplit=1)[0]
    expected = case.differs.get(program, case.status)
    assert reply.status == expected, (case.id, reply.status, reply.headers)
    assert reply.status < 500
    if program in case.differs:
        return reply  # a documented difference: only the status is compared
    for name, value in case.want.items():
        assert reply.header(name) == value, (case.id, name, reply.headers)
    if case.body is not None:
        assert reply.body == case.body(site), case.id
    if reply.status in (200, 206) and case.method == "GET":
        if not (program == "caddy" and reply.header("content-encoding")):
            # Caddy 2.6 sends precompressed variants without Content-Length (docs/serving.md)
            assert reply.header("content-length") == str(len(reply.body))
        assert reply.header("etag"), case.id
        assert reply.header("last-modified"), case.id
    return reply


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_table(case: Case, site: Site, server: tuple[str, int]) -> None:
    check(case, site, *server)


@pytest.mark.parametrize("target", TRAVERSAL)
def test_traversal_leaks_nothing(target: str, site: Site, server: tuple[str, int]) -> None:
    _, port = server
    reply = servers.request(port, target)
    assert reply.status in (400, 404), (target, reply.status)
    assert not leaked(reply.body), target


def test_validators_per_representation(site: Site, server: tuple[str, int]) -> None:
    kind, port = server
    path = "/static/" + site.manifest.files["css/app.css"].hashed
    plain = servers.request(port, path)
    br = servers.request(port, path, {"Accept-Encoding": "br"})
    gz = servers.request(port, path, {"Accept-Encoding": "gzip"})
    etags = {plain.header("etag"), br.header("etag"), gz.header("etag")}
    assert len(etags) == 3 and all(e and e.startswith('"') for e in etags), etags
    tag = plain.header("etag")
    assert tag is not None
    for inm in (tag, f"W/{tag}", f'"a", {tag}, "b"'):
        again = servers.request(port, path, {"If-None-Match": inm})
        assert again.status == 304, inm
        assert again.body == b""
        assert again.header("etag") == tag
    # another representation's tag does not validate this one
    assert servers.request(port, path, {"If-None-Match": br.header("etag") or ""}).status == 200
    # If-None-Match wins over If-Modified-Since (nginx wants both to match: a difference)
    both = {"If-None-Match": tag, "If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"}
    assert servers.request(port, path, both).status == (200 if kind == "nginx" else 304)


def test_if_range_with_the_current_etag_gives_the_range(
    site: Site, server: tuple[str, int]
) -> None:
    _, port = server
    path = "/static/" + site.manifest.files["big/blob.bin"].hashed
    tag = servers.request(port, path, method="HEAD").header("etag") or ""
    reply = servers.request(port, path, {"Range": "bytes=0-9", "If-Range": tag})
    assert reply.status == 206
    assert reply.body == (site.root / site.manifest.files["big/blob.bin"].hashed).read_bytes()[:10]
