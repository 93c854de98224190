"""Manifests: Django's staticfiles.json (same hash rule) and corral's own, deterministic bytes."""

from __future__ import annotations

import hashlib
import json
import random

import pytest

from corral.fingerprint import content_type, corral_manifest, django_manifest, manifest

from .helpers import run

TREE = {
    "css/app.css": b"a{b:url(../img/a.png)}",
    "img/a.png": b"png",
    "js/app.js": b"x()",
    "LICENSE": b"BSD",
    "caf\u00e9.txt": b"x",
}


def test_django_manifest_follows_djangos_rule() -> None:
    fps = run(TREE).fingerprints
    data = django_manifest(fps)
    payload = json.loads(data)
    assert list(payload) == ["paths", "version", "hash"]
    assert payload["version"] == "1.1"
    paths = payload["paths"]
    assert list(paths) == sorted(TREE)
    assert paths == {k: fp.hashed for k, fp in fps.items()}
    # ManifestFilesMixin.save_manifest: md5 of json.dumps(sorted(items)), first 12 hex.
    expected = hashlib.md5(json.dumps(sorted(paths.items())).encode()).hexdigest()[:12]
    assert payload["hash"] == expected
    assert data == json.dumps(payload).encode()  # Django's separators, ASCII escapes


def test_manifests_do_not_depend_on_mapping_order() -> None:
    fps = run(TREE).fingerprints
    items = list(fps.items())
    random.Random(1).shuffle(items)
    shuffled = dict(items)
    assert django_manifest(shuffled) == django_manifest(fps)
    assert corral_manifest(shuffled, url="/s/", release=3) == corral_manifest(
        fps, url="/s/", release=3
    )


def test_corral_manifest() -> None:
    fps = run(TREE).fingerprints
    data = corral_manifest(fps, url="/static/", release=42)
    payload = json.loads(data)
    assert payload["version"] == 1 and payload["release"] == "42" and payload["url"] == "/static/"
    entry = payload["files"]["css/app.css"]
    fp = fps["css/app.css"]
    assert entry == {
        "content_type": "text/css",
        "encodings": {},
        "hashed": fp.hashed,
        "integrity": fp.integrity,
        "sha256": fp.sha256,
        "size": fp.size,
    }
    assert (
        data
        == json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    )


@pytest.mark.parametrize(
    ("logical", "expected"),
    [
        ("a.js", "text/javascript"),
        ("a.MJS", "text/javascript"),
        ("a.cjs", "text/javascript"),
        ("a.js.map", "application/json"),
        ("a.css", "text/css"),
        ("a.svg", "image/svg+xml"),
        ("a.woff2", "font/woff2"),
        ("a.woff", "font/woff"),
        ("a.png", "image/png"),
        ("a.html", "text/html"),
        ("a.wasm", "application/wasm"),
        ("a.tar.gz", "application/gzip"),
        ("a.svgz", "image/svg+xml"),
        ("LICENSE", "application/octet-stream"),
        ("dir.v2/README", "application/octet-stream"),
        ("a.unknownext", "application/octet-stream"),
    ],
)
def test_content_types(logical: str, expected: str) -> None:
    assert content_type(logical) == expected


def test_media_types_by_suffix_are_what_the_full_lookup_gives() -> None:
    names = [
        "a.js",
        "b/A.JS",
        "c.min.js",
        "d.css",
        "e.tar.gz",
        "f.gz",
        "g.tgz",
        "h.svgz",
        "i.svg.gz",
        "j.PNG",
        "k.png",
        "l/.htaccess",
        "m.",
        "n",
        "o/p.q/r",
        "s.woff2",
        "t.json.br",
        "u.xz",
        "v.Z",
        "w.bz2",
        "x.txt",
        "y.TXT",
        "z.unknownext",
        "data.png",
        "a.b.c.wasm",
        "k.png",
    ]
    for name in names + names:  # the second time from the cache
        dot = name.rfind(".")
        fixed = manifest._FIXES.get(name[dot:].lower()) if dot > name.rfind("/") else None
        assert content_type(name) == (fixed or manifest._guess(name)), name


def test_corral_manifest_made_in_pieces_is_the_manifest_made_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fps = run(TREE).fingerprints
    retained = {"3": {"old.css": {"hashed": "old.0123456789ab.css"}}}
    encodings = {"css/app.css": {"gzip": {"path": "x.gz", "size": 3, "integrity": "i"}}}
    whole = corral_manifest(fps, url="/s/", release=4, encodings=encodings, retained=retained)
    monkeypatch.setattr(manifest, "_CHUNK", 2)  # five files: three pieces
    parts = list(
        manifest.corral_manifest_parts(
            fps, url="/s/", release=4, encodings=encodings, retained=retained
        )
    )
    assert len(parts) == 5 and b"".join(parts) == whole  # opening, three pieces, the rest
    payload = json.loads(whole)
    assert list(payload["files"]) == sorted(TREE) and payload["retained"] == retained
    assert b"".join(manifest.corral_manifest_parts({}, url="/s/", release=1)) == (
        corral_manifest({}, url="/s/", release=1)
    )
