"""The responder's start-up and bad input: clear errors, never a half-working server."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corral import ManifestError
from corral.serve import ASGIApp, Responder, WSGIApp
from corral.serve.responder import HTTP_NAMES
from tests.conftest import opened_files
from tests.serve.conftest import Site


def _get(responder: Responder, path: str, **headers: str) -> tuple[int, bytes]:
    lower = {k.replace("_", "-").lower(): v for k, v in headers.items()}
    response = responder.respond("GET", path, lower.get)
    body = response.body
    if response.file is not None:
        with response.file as file:
            file.seek(response.offset)
            body = file.read(response.length)
    return response.code, body


@pytest.mark.parametrize("app", [WSGIApp, ASGIApp, Responder])
def test_a_missing_manifest_is_a_start_up_error(app: type, tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as caught:
        app(tmp_path)
    assert str(tmp_path / "corral-manifest.json") in str(caught.value)
    assert "corral collect" in (caught.value.hint or "")


def test_a_corrupt_manifest_is_a_start_up_error(tmp_path: Path) -> None:
    (tmp_path / "corral-manifest.json").write_text('{"version": 1, "url": "/s/", "files": [')
    with pytest.raises(ManifestError, match="not JSON"):
        WSGIApp(tmp_path)


def test_start_up_reads_the_manifest_only(site: Site) -> None:
    with opened_files() as opened:
        responder = Responder(site.root, "/static/")
    assert opened == [str(site.root / "corral-manifest.json")]
    # every current hashed and unhashed name, and the retained release's hashed names
    assert len(responder) == 2 * len(site.manifest.files) + len(site.manifest.retained["1"])


def test_a_vanished_file_is_a_404_and_one_warning(
    site: Site, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "root"
    shutil.copytree(site.root, root, symlinks=True, ignore=shutil.ignore_patterns(".corral"))
    responder = Responder(root, "/static/")
    entry = site.manifest.files["big/blob.bin"]
    assert _get(responder, "/static/" + entry.hashed)[0] == 200
    (root / entry.hashed).unlink()
    with caplog.at_level(logging.WARNING, logger="corral.serve"):
        assert _get(responder, "/static/" + entry.hashed)[0] == 404
        assert _get(responder, "/static/" + entry.hashed)[0] == 404
    warnings = [r for r in caplog.records if r.name == "corral.serve"]
    assert len(warnings) == 1
    assert entry.hashed in warnings[0].getMessage()
    # a file replaced by one of another size is not sent under the old headers
    other = site.manifest.files["big/text.txt"]
    (root / other.hashed).write_bytes(b"short")
    assert _get(responder, "/static/" + other.hashed)[0] == 404
    # nor a range read at once (read_limit)
    for gone in (entry, other):
        response = responder.answer(
            "GET", "/static/" + gone.hashed, {"range": "bytes=0-9"}.get, HTTP_NAMES, 1024
        )
        assert response.code == 404


def test_a_body_within_read_limit_comes_read_with_no_file(site: Site) -> None:
    responder = Responder(site.root, "/static/")
    entry = site.manifest.files["big/blob.bin"]
    data = (site.root / entry.hashed).read_bytes()
    path = "/static/" + entry.hashed
    with opened_files() as opened:
        read = responder.answer("GET", path, {"range": "bytes=100-1123"}.get, HTTP_NAMES, 1024)
    assert (read.code, read.file, read.body) == (206, None, data[100:1124])
    assert opened == [str(site.root / entry.hashed)]
    # above the limit (or with none): an open file for the server to send
    for asked, limit in (("bytes=100-1124", 1024), ("bytes=100-1123", 0)):
        response = responder.answer("GET", path, {"range": asked}.get, HTTP_NAMES, limit)
        assert response.file is not None and response.body == b""
        response.file.close()


def test_small_files_are_answered_from_memory_after_the_first_read(site: Site) -> None:
    responder = Responder(site.root, "/static/")
    path = "/static/" + site.manifest.files["css/app.css"].hashed
    first = _get(responder, path)
    with opened_files() as opened:
        assert _get(responder, path) == first
    assert opened == []


def test_extra_headers_per_path(site: Site) -> None:
    def cors(path: str) -> list[tuple[str, str]]:
        return [("Access-Control-Allow-Origin", "*")] if path.startswith("fonts/") else []

    responder = Responder(site.root, "/static/", extra_headers=cors)
    font = responder.respond(
        "GET", "/static/" + site.manifest.files["fonts/icons.woff2"].hashed, {}.get
    )
    css = responder.respond("GET", "/static/" + site.manifest.files["css/app.css"].hashed, {}.get)
    assert ("Access-Control-Allow-Origin", "*") in font.headers
    assert all(name != "Access-Control-Allow-Origin" for name, _ in css.headers)


def test_a_304_carries_what_updates_a_cache_and_no_representation_metadata(site: Site) -> None:
    def cors(path: str) -> list[tuple[str, str]]:
        return [("Access-Control-Allow-Origin", "*")]

    responder = Responder(site.root, "/static/", extra_headers=cors)
    path = "/static/" + site.manifest.files["css/app.css"].hashed
    ok = responder.respond("GET", path, {"accept-encoding": "br"}.get)
    etag = dict(ok.headers)["ETag"]
    for asked in (
        {"if-none-match": etag},
        {"if-modified-since": dict(ok.headers)["Last-Modified"]},
    ):
        response = responder.respond("GET", path, {"accept-encoding": "br", **asked}.get)
        assert response.code == 304
        assert sorted(response.headers) == sorted(
            [
                ("Access-Control-Allow-Origin", "*"),
                ("Cache-Control", "public, max-age=31536000, immutable"),
                ("ETag", etag),
                ("Vary", "Accept-Encoding"),
            ]
        )
        assert response.raw_headers == tuple(
            (k.lower().encode(), v.encode()) for k, v in response.headers
        )
        assert (response.body, response.file) == (b"", None)
    # a 200 still says everything, a range too
    assert {"Content-Type", "Last-Modified", "Content-Encoding"} <= dict(ok.headers).keys()
    part = responder.respond("GET", path, {"accept-encoding": "br", "range": "bytes=0-1"}.get)
    assert part.code == 206
    assert {"Content-Type", "Last-Modified", "Content-Encoding"} <= dict(part.headers).keys()


def test_unhashed_max_age_is_configurable(site: Site) -> None:
    responder = Responder(site.root, "/static/", max_age=5)
    response = responder.respond("GET", "/static/css/app.css", {}.get)
    assert ("Cache-Control", "public, max-age=5") in response.headers
    # the unhashed name serves its own file, with its own validator
    hashed = responder.respond(
        "GET", "/static/" + site.manifest.files["css/app.css"].hashed, {}.get
    )
    assert dict(response.headers)["ETag"] != dict(hashed.headers)["ETag"]
    assert response.body == (site.root / "css/app.css").read_bytes()


def test_the_url_defaults_to_the_manifests(site: Site) -> None:
    responder = Responder(site.root)
    assert responder.prefix == "/static/"
    assert _get(responder, "/static/" + site.manifest.files["img/dot.png"].hashed)[0] == 200
    assert _get(responder, "/elsewhere/" + site.manifest.files["img/dot.png"].hashed)[0] == 404


_HEADER_NAMES = ("accept-encoding", "if-none-match", "if-modified-since", "range", "if-range")


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=st.sampled_from(["GET", "HEAD", "POST", "OPTIONS", "get", ""]),
    tail=st.text(max_size=40),
    values=st.fixed_dictionaries(
        {name: st.none() | st.text(max_size=60) for name in _HEADER_NAMES}
    ),
)
def test_any_request_gets_an_answer_never_an_exception(
    site: Site, method: str, tail: str, values: dict[str, str | None]
) -> None:
    responder = _shared(site)
    for path in ("/static/" + site.manifest.files["big/blob.bin"].hashed, "/static/" + tail):
        response = responder.respond(method, path, values.get)
        assert response.code in (200, 206, 304, 404, 405, 416)
        if response.file is not None:
            response.file.close()


_RESPONDERS: dict[Path, Responder] = {}


def _shared(site: Site) -> Responder:
    if site.root not in _RESPONDERS:
        _RESPONDERS[site.root] = Responder(site.root, "/static/")
    return _RESPONDERS[site.root]
