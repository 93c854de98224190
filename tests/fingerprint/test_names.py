"""Hashed names: Django's rule, checked against Django's own ``hashed_name``."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import subprocess
import sys

import pytest

from corral.fingerprint.names import (
    group_member_hash,
    hashed_name,
    integrity,
    md5_hex,
    name_hash,
    sha256_and_integrity,
    sha256_hex,
)

from ..conftest import need

H = "0123456789ab"

NAMES = [
    ("app.css", "app.0123456789ab.css"),
    ("css/app.css", "css/app.0123456789ab.css"),
    ("a.tar.gz", "a.tar.0123456789ab.gz"),
    ("LICENSE", "LICENSE.0123456789ab"),
    (".htaccess", ".htaccess.0123456789ab"),
    ("dir/.hidden.css", "dir/.hidden.0123456789ab.css"),
    ("dir.d/file", "dir.d/file.0123456789ab"),
    ("a.", "a.0123456789ab."),
    ("a..b", "a..0123456789ab.b"),
    ("x/y/z/deep.min.js", "x/y/z/deep.min.0123456789ab.js"),
    ("caf\u00e9/\u00fc.css", "caf\u00e9/\u00fc.0123456789ab.css"),
    ("js/app.js.map", "js/app.js.0123456789ab.map"),
]

# Names Django mangles (it unquotes, splits at ? and #, strips blanks); corral keeps them.
LITERAL = [
    ("a%20b.css", "a%20b.0123456789ab.css"),
    ("a#b.css", "a#b.0123456789ab.css"),
    ("a?b.css", "a?b.0123456789ab.css"),
    (" lead.css", " lead.0123456789ab.css"),
]


@pytest.mark.parametrize(("logical", "expected"), NAMES + LITERAL)
def test_hashed_name(logical: str, expected: str) -> None:
    assert hashed_name(logical, H) == expected


_DJANGO_NAMES = """
import json, sys
from django.conf import settings
settings.configure(STATIC_URL="/static/")
from django.contrib.staticfiles.storage import HashedFilesMixin
from django.core.files.base import ContentFile
mixin = HashedFilesMixin()
print(json.dumps([mixin.hashed_name(n, ContentFile(b"x")) for n in json.load(sys.stdin)]))
"""


def test_same_names_as_djangos_hashed_name() -> None:
    need(importlib.util.find_spec("django") is not None, "needs Django 5.2")
    logicals = [logical for logical, _ in NAMES + LITERAL]
    out = subprocess.run(
        [sys.executable, "-c", _DJANGO_NAMES],
        input=json.dumps(logicals),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    theirs = dict(zip(logicals, json.loads(out), strict=True))
    h = name_hash(b"x")
    for logical, _ in NAMES:
        assert theirs[logical] == hashed_name(logical, h), logical
    for logical, _ in LITERAL:
        assert theirs[logical] != hashed_name(logical, h), logical


def test_digests() -> None:
    data = b"hello"
    assert md5_hex(data) == hashlib.md5(data).hexdigest()
    assert name_hash(data) == hashlib.md5(data).hexdigest()[:12] == "5d41402abc4b"
    assert sha256_hex(data) == hashlib.sha256(data).hexdigest()
    assert integrity(data) == "sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert integrity(b"") == "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    assert integrity(b"", "sha384").startswith(
        "sha384-OLBgp1GsljhM2TJ+sbHjaiH9txEUvgdDTAzHv2P24donTt6"
    )
    assert integrity(data, "sha512") == (
        "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    )
    for algorithm in ("sha256", "sha384", "sha512"):
        assert sha256_and_integrity(data, algorithm) == (
            sha256_hex(data),
            integrity(data, algorithm),
        )


def test_group_member_hashes_differ_per_member_and_per_group() -> None:
    a, b = group_member_hash("g1", "a.js"), group_member_hash("g1", "b.js")
    assert len(a) == 12 and a != b
    assert group_member_hash("g2", "a.js") != a
    assert group_member_hash("g1", "a.js") == a
