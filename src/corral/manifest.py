"""Read ``corral-manifest.json``: the one public description of a published root.

An import-light reader for servers and apps: it loads no tokenizer, no state, no
build, publishing or fingerprint-engine module (a test holds it to that)::

    manifest = read_manifest(Path("static/corral-manifest.json"))
    entry = manifest.files["css/app.css"]          # logical path -> ManifestEntry
    manifest.by_hashed["css/app.1a2b3c4d5e6f.css"] # hashed name -> the same entry
    entry.encodings["br"].path                     # "css/app.1a2b3c4d5e6f.css.br"

The format (written by :func:`corral.fingerprint.corral_manifest`)::

    {"version": 1, "release": "42", "url": "/static/",
     "files": {"css/app.css": {"hashed": "css/app.1a2b3c4d5e6f.css", "size": 1234,
                               "sha256": "<hex>", "integrity": "sha256-...",
                               "content_type": "text/css",
                               "encodings": {"br": {"path": "...", "size": 321,
                                                    "integrity": "sha384-..."}}}},
     "retained": {"41": {"css/app.css": {...same fields...}}}}

``size``, ``sha256`` and ``integrity`` describe the hashed file; each encoding
describes its precompressed variant of the hashed file. ``retained`` (optional)
holds, per release still kept in the root, the entries of that release whose hashed
file the current release does not list: their files stay on disk until pruned, so a
server keeps answering for them during a rolling deploy.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from corral.errors import ManifestError

try:  # a dependency, 3-4 times faster on a big manifest; the standard library otherwise
    import orjson as _orjson
except ImportError:  # pragma: no cover
    _orjson = None  # type: ignore[assignment]

__all__ = [
    "CORRAL_MANIFEST",
    "CORRAL_MANIFEST_VERSION",
    "DJANGO_MANIFEST_VERSIONS",
    "Manifest",
    "ManifestEntry",
    "Variant",
    "parse_manifest",
    "read_manifest",
]

CORRAL_MANIFEST = "corral-manifest.json"
CORRAL_MANIFEST_VERSION = 1
DJANGO_MANIFEST_VERSIONS = ("1.0", "1.1")

_CREATE_HINT = "run `corral collect` (or Django's `collectstatic` with corral's storage) first"


class Variant(NamedTuple):
    """A precompressed variant of a hashed file: its path in the root, size and SRI."""

    path: str
    size: int
    integrity: str


class ManifestEntry(NamedTuple):
    """What the manifest says about one logical path (the fields describe its hashed file)."""

    logical: str
    hashed: str
    size: int
    content_type: str
    sha256: str
    integrity: str
    encodings: Mapping[str, Variant]


_NO_ENCODINGS: Mapping[str, Variant] = MappingProxyType({})


class Manifest(NamedTuple):
    """A parsed corral manifest.

    ``files`` maps each logical path of the current release to its entry;
    ``by_hashed`` maps every hashed name (the current release's first, then the
    retained releases', newest first) to its entry; ``retained`` holds the
    retained releases' entries by release id.
    """

    url: str
    release: str
    files: Mapping[str, ManifestEntry]
    by_hashed: Mapping[str, ManifestEntry]
    retained: Mapping[str, Mapping[str, ManifestEntry]]
    where: str


def read_manifest(path: str | Path) -> Manifest:
    """Read and check the corral manifest at ``path``.

    Raises :class:`~corral.errors.ManifestError` naming the path (and the command
    that creates it) when the file is missing, unreadable or not a corral manifest.
    """
    where = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ManifestError(
            f"can't read the manifest {where}: {exc.strerror or exc}",
            path=where,
            hint=_CREATE_HINT,
        ) from None
    return parse_manifest(data, where=where)


def parse_manifest(data: bytes, *, where: str = "<manifest bytes>") -> Manifest:
    """Parse the bytes of a corral manifest (see :func:`read_manifest`)."""
    payload = load_json(data, where)
    if not isinstance(payload, dict):
        raise not_a_manifest(where, "not a JSON object")
    if payload.get("version") != CORRAL_MANIFEST_VERSION or not isinstance(
        payload.get("files"), dict
    ):
        raise not_a_manifest(where, f"unknown manifest version {payload.get('version')!r}")
    url = payload.get("url")
    if not isinstance(url, str):
        raise not_a_manifest(where, "no url")
    files = _entries(payload["files"], where)
    by_hashed = {entry.hashed: entry for entry in files.values()}
    retained: dict[str, Mapping[str, ManifestEntry]] = {}
    raw_retained = payload.get("retained", {})
    if not isinstance(raw_retained, dict):
        raise not_a_manifest(where, "'retained' is not an object")
    for release in sorted(raw_retained, key=_release_order, reverse=True):
        entries = _entries(raw_retained[release], where)
        retained[release] = MappingProxyType(entries)
        for entry in entries.values():
            by_hashed.setdefault(entry.hashed, entry)
    return Manifest(
        url=url,
        release=str(payload.get("release", "")),
        files=MappingProxyType(files),
        by_hashed=MappingProxyType(by_hashed),
        retained=MappingProxyType(retained),
        where=where,
    )


def load_json(data: bytes, where: str) -> Any:
    """Decode a manifest's JSON, or raise :class:`ManifestError` saying where."""
    if _orjson is not None:
        try:
            return _orjson.loads(data)
        except _orjson.JSONDecodeError:
            pass  # the standard library says why (and reads lone surrogates orjson refuses)
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise not_a_manifest(where, f"not JSON ({exc})") from None


def not_a_manifest(where: str, why: str) -> ManifestError:
    """The error for a file that is not a manifest corral can read."""
    return ManifestError(
        f"{where} is not a corral manifest: {why}",
        path=where,
        hint="run `corral collect` again to rewrite it",
    )


def _release_order(release: str) -> tuple[int, str]:
    return (int(release), "") if release.isdigit() else (-1, release)


def _entries(raw: Any, where: str) -> dict[str, ManifestEntry]:
    if not isinstance(raw, dict):
        raise not_a_manifest(where, "a file table is not an object")
    out: dict[str, ManifestEntry] = {}
    for logical, record in raw.items():
        try:
            out[logical] = _entry(logical, record)
        except (TypeError, ValueError, KeyError, AttributeError):
            raise not_a_manifest(where, f"bad entry for {logical!r}") from None
    return out


def _entry(logical: str, record: dict[str, Any]) -> ManifestEntry:
    hashed = record["hashed"]
    if type(hashed) is not str or not hashed:
        raise ValueError(hashed)
    raw = record.get("encodings")
    encodings = (
        {
            str(name): Variant(str(v["path"]), _size(v["size"]), str(v.get("integrity", "")))
            for name, v in raw.items()
        }
        if raw
        else _NO_ENCODINGS
    )
    return ManifestEntry(
        logical,
        hashed,
        _size(record["size"]),
        record.get("content_type") or "application/octet-stream",
        record.get("sha256", ""),
        record.get("integrity", ""),
        encodings,
    )


def _size(value: Any) -> int:
    if type(value) is not int or value < 0:
        raise ValueError(value)
    return value
