"""corral.resolver (public): logical path -> hashed URL and integrity, strict by default."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.errors import ManifestError
from corral.fingerprint import corral_manifest, django_manifest
from corral.resolver import Resolver

from .fingerprint.helpers import run

TREE = {
    "css/app.css": b"a{b:url(../fonts/x.eot)}",
    "fonts/x.eot": b"eot",
    "img/my logo.png": b"png",
    "js/app.js": b"x()",
}


@pytest.fixture
def resolver(tmp_path: Path) -> Resolver:
    path = tmp_path / "manifest.json"
    path.write_bytes(corral_manifest(run(TREE).fingerprints, url="/static/", release=1))
    return Resolver.from_manifest(path)


def test_url_and_integrity(resolver: Resolver) -> None:
    fps = run(TREE).fingerprints
    assert resolver.url("css/app.css") == "/static/" + fps["css/app.css"].hashed
    assert resolver.integrity("css/app.css") == fps["css/app.css"].integrity
    assert resolver.hashed("js/app.js") == fps["js/app.js"].hashed
    assert "js/app.js" in resolver and len(resolver) == 4


def test_query_fragment_and_the_iefix_hack_are_kept(resolver: Resolver) -> None:
    eot = resolver.hashed("fonts/x.eot")
    assert resolver.url("fonts/x.eot?v=1") == f"/static/{eot}?v=1"
    assert resolver.url("fonts/x.eot#top") == f"/static/{eot}#top"
    assert resolver.url("fonts/x.eot?#iefix") == f"/static/{eot}?#iefix"


def test_urls_are_percent_encoded(resolver: Resolver) -> None:
    assert resolver.url("img/my logo.png").startswith("/static/img/my%20logo.")


def test_strict_mode_names_the_path_and_suggests_close_matches(resolver: Resolver) -> None:
    with pytest.raises(ManifestError) as info:
        resolver.url("css/ap.css")
    assert info.value.path == "css/ap.css"
    assert '"css/ap.css" is not in the manifest' in info.value.message
    assert info.value.hint is not None and 'did you mean "css/app.css"' in info.value.hint
    with pytest.raises(ManifestError) as info:
        resolver.integrity("zzz/nothing-like-it")
    assert info.value.hint is not None and "did you mean" not in info.value.hint


def test_lenient_mode_returns_the_unhashed_url() -> None:
    data = corral_manifest(run(TREE).fingerprints, url="/s/", release=1)
    lenient = Resolver.from_manifest(data, strict=False)
    assert lenient.url("nope.css?x=1") == "/s/nope.css?x=1"
    assert lenient.integrity("nope.css") == ""


def test_djangos_manifest_needs_a_url() -> None:
    data = django_manifest(run(TREE).fingerprints)
    with pytest.raises(ManifestError, match="records no URL"):
        Resolver.from_manifest(data)
    resolver = Resolver.from_manifest(data, url="/static/")
    assert resolver.url("js/app.js").startswith("/static/js/app.")
    assert resolver.integrity("js/app.js") == ""


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"not json", "not JSON"),
        (b"[]", "not a JSON object"),
        (b'{"version": 99}', "unknown manifest version"),
        (b'{"version": 1, "files": {}, "url": 3}', "no url"),
        (b'{"version": 1, "files": {"a": 1}, "url": "/"}', "bad entry"),
    ],
)
def test_bad_manifests(data: bytes, why: str) -> None:
    with pytest.raises(ManifestError, match=why):
        Resolver.from_manifest(data)


def test_unreadable_manifest(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="can't read the manifest") as info:
        Resolver.from_manifest(tmp_path / "missing.json")
    assert info.value.path == str(tmp_path / "missing.json")


def test_the_old_fingerprint_package_name_still_works() -> None:
    import corral  # noqa: PLC0415
    import corral.fingerprint  # noqa: PLC0415

    assert corral.fingerprint.Resolver is corral.Resolver is Resolver
