"""The two manifests: Django's ``staticfiles.json`` and corral's own, as deterministic bytes.

``django_manifest`` is interchangeable with Django 5.2's
``ManifestFilesMixin.save_manifest`` output: the same ``paths``, version
``"1.1"`` and ``hash`` (the first 12 hex digits of the MD5 of
``json.dumps(sorted(paths.items()))``); only the order of ``paths`` differs
(sorted here, post-processing order in Django), which neither Django nor the
hash depends on.

``corral_manifest`` describes each logical path for servers and apps::

    {"files": {"css/app.css": {"content_type": "text/css",
                               "encodings": {},
                               "hashed": "css/app.1a2b3c4d5e6f.css",
                               "integrity": "sha256-...",
                               "sha256": "...",
                               "size": 1234}},
     "release": "42", "url": "/static/", "version": 1}

``encodings`` is reserved for precompressed variants (filled in by the
compression stage). Keys are sorted and the JSON is compact, so equal inputs
give equal bytes.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from collections.abc import Iterator, Mapping
from typing import Any

from corral import jsonio
from corral.fingerprint.model import Fingerprint
from corral.manifest import CORRAL_MANIFEST_VERSION

__all__ = [
    "CORRAL_MANIFEST_VERSION",
    "DJANGO_MANIFEST_VERSION",
    "content_type",
    "corral_manifest",
    "corral_manifest_parts",
    "django_manifest",
]

DJANGO_MANIFEST_VERSION = "1.1"

# Only Python's built-in table (never /etc/mime.types): the same type on every machine.
_TYPES = mimetypes.MimeTypes()
# Where the built-in table is old, platform-dependent or silent (WHATWG / IANA types).
_FIXES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".cjs": "text/javascript",
    ".map": "application/json",
    ".json": "application/json",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".svgz": "image/svg+xml",  # gzip-compressed SVG; the server adds Content-Encoding
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".wasm": "application/wasm",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/vnd.microsoft.icon",
    ".md": "text/markdown",
}
# A compressed file served as is (``a.tar.gz``) is the compressed type, not an encoding.
_ENCODED = {
    "gzip": "application/gzip",
    "bzip2": "application/x-bzip2",
    "xz": "application/x-xz",
    "compress": "application/x-compress",
}
_DEFAULT_TYPE = "application/octet-stream"


def content_type(logical: str) -> str:
    """Return the media type to serve ``logical`` with (no charset parameter)."""
    dot = logical.rfind(".")
    if dot <= logical.rfind("/"):
        return _guess(logical)
    suffix = logical[dot:]
    known = _BY_SUFFIX.get(suffix)
    if known is None:
        fixed = _FIXES.get(suffix.lower())
        if fixed is not None:
            known = fixed
        elif suffix in _TYPES.encodings_map or suffix.lower() in _TYPES.encodings_map:
            return _guess(logical)  # "a.tar.gz": the suffix before it decides too
        else:
            known = _guess(logical)
        _BY_SUFFIX[suffix] = known  # otherwise only the last suffix decides
    return known


# Media types by exact last suffix: every file of a release is looked up, most share a
# handful of suffixes, and guess_type costs more than the manifest entry it goes into.
_BY_SUFFIX: dict[str, str] = {}


def _guess(logical: str) -> str:
    guessed, encoding = _TYPES.guess_type(logical, strict=False)
    if encoding is not None:
        return _ENCODED.get(encoding, _DEFAULT_TYPE)
    return guessed or _DEFAULT_TYPE


def django_manifest(fingerprints: Mapping[str, Fingerprint]) -> bytes:
    """Return Django's ``staticfiles.json`` for ``fingerprints`` (logical path -> record).

    The bytes of ``json.dumps({"paths": paths, "version": ..., "hash": ...})``, whose
    hash is the MD5 of ``json.dumps(sorted(paths.items()))``; both are encoded
    :data:`_CHUNK` paths at a time (made whole, the two texts and the lists they came
    from took 33 MiB at a run's peak on the large corpus)."""
    keys = sorted(fingerprints)
    hasher = hashlib.md5(usedforsecurity=False)  # a name, not a security measure
    hasher.update(b"[")
    paths: list[bytes] = []
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        items = [(logical, fingerprints[logical].hashed) for logical in chunk]
        comma = ", " if start else ""
        hasher.update((comma + json.dumps(items)[1:-1]).encode())
        paths.append((comma + json.dumps(dict(items))[1:-1]).encode())
    hasher.update(b"]")
    tail = json.dumps({"version": DJANGO_MANIFEST_VERSION, "hash": hasher.hexdigest()[:12]})
    return b"".join([b'{"paths": {', *paths, b"}, ", tail[1:].encode()])


def corral_manifest(
    fingerprints: Mapping[str, Fingerprint],
    *,
    url: str,
    release: str | int,
    encodings: Mapping[str, Mapping[str, Any]] | None = None,
    retained: Mapping[str, Mapping[str, Any]] | None = None,
) -> bytes:
    """Return corral's manifest for ``fingerprints``, served under ``url``, of ``release``.

    ``encodings`` maps a logical path to its hashed file's precompressed variants
    (encoding -> ``{"path", "size", "integrity"}``), for servers to negotiate with.
    ``retained`` maps the id of each older release kept in the root to its entries
    whose hashed files this release does not list (see :mod:`corral.manifest`); it is
    written only when not empty.
    """
    return b"".join(
        corral_manifest_parts(
            fingerprints, url=url, release=release, encodings=encodings, retained=retained
        )
    )


#: Entries of the manifest's ``files`` made and encoded at a time.
_CHUNK = 4096


def corral_manifest_parts(
    fingerprints: Mapping[str, Fingerprint],
    *,
    url: str,
    release: str | int,
    encodings: Mapping[str, Mapping[str, Any]] | None = None,
    retained: Mapping[str, Mapping[str, Any]] | None = None,
) -> Iterator[bytes]:
    """:func:`corral_manifest`'s bytes in pieces, its ``files`` made and encoded
    :data:`_CHUNK` entries at a time: on the large benchmark corpus the whole manifest
    is 32 MB of JSON from 54,570 entries, and making it at once held both, about
    65 MiB, at a run's peak."""
    encodings = {} if encodings is None else encodings  # a view: no len() of it
    keys = sorted(fingerprints)
    yield b'{"files":{'
    for start in range(0, len(keys), _CHUNK):
        files: dict[str, Any] = {}
        for logical in keys[start : start + _CHUNK]:
            fp = fingerprints[logical]
            files[logical] = {
                "hashed": fp.hashed,
                "size": fp.size,
                "sha256": fp.sha256,
                "integrity": fp.integrity,
                "content_type": content_type(logical),
                "encodings": dict(encodings.get(logical, {})),
            }
        # Keys sorted within the chunk as between chunks: the bytes of the whole.
        yield (b"," if start else b"") + jsonio.dumps_sorted(files)[1:-1]
    rest: dict[str, Any] = {
        "version": CORRAL_MANIFEST_VERSION,
        "release": str(release),
        "url": url,
    }
    if retained:
        rest["retained"] = {k: dict(v) for k, v in retained.items() if v}
    yield b"}," + jsonio.dumps_sorted(rest)[1:]
