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
import sys
from binascii import b2a_base64
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
    """What the manifest says about one logical path (the fields describe its hashed file).

    A server keeps one per file, so it is kept small: ``raw_sha256`` holds the sha256 as
    its 32 bytes (the manifest's text if that was not a lower-case hex sha256), and
    ``raw_integrity`` the SRI value only when it is not the base64 of those same bytes
    (corral's default; None then). :attr:`sha256` and :attr:`integrity` give both back as
    the manifest wrote them. Content types are shared between entries. Make one with
    :meth:`of`.
    """

    logical: str
    hashed: str
    size: int
    content_type: str
    raw_sha256: bytes | str
    raw_integrity: str | None
    encodings: Mapping[str, Variant]

    @classmethod
    def of(
        cls,
        logical: str,
        hashed: str,
        size: int,
        content_type: str,
        sha256: str,
        integrity: str,
        encodings: Mapping[str, Variant],
    ) -> ManifestEntry:
        """An entry from the manifest's fields (hex sha256, SRI value)."""
        raw_sha256, raw_integrity = _pack(sha256, integrity)
        return cls(logical, hashed, size, content_type, raw_sha256, raw_integrity, encodings)

    @property
    def sha256(self) -> str:
        """The hashed file's sha256, in hex."""
        raw = self.raw_sha256
        return raw.hex() if type(raw) is bytes else str(raw)

    @property
    def integrity(self) -> str:
        """The hashed file's Subresource Integrity value (``sha256-...``)."""
        if self.raw_integrity is not None:
            return self.raw_integrity
        raw = self.raw_sha256
        assert type(raw) is bytes
        return "sha256-" + b2a_base64(raw, newline=False).decode("ascii")


def _pack(sha256: str, integrity: str) -> tuple[bytes | str, str | None]:
    """The sha256 as bytes when it is one in hex, and the SRI value unless it is the
    ``sha256-`` base64 of those bytes (then None: made again on request)."""
    if type(sha256) is not str or type(integrity) is not str:
        raise TypeError(sha256)
    try:
        raw = bytes.fromhex(sha256)
    except ValueError:
        return sha256, integrity
    if len(raw) != 32:
        return sha256, integrity
    if integrity == "sha256-" + b2a_base64(raw, newline=False).decode():
        return raw, None
    return raw, integrity


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
    # One loop, local names and no call per entry but the unavoidable: a server reads
    # every entry at start-up (20,000 in about 20 ms).
    out: dict[str, ManifestEntry] = {}
    new, entry_type, intern, pack = tuple.__new__, ManifestEntry, sys.intern, _pack
    fromhex, b64 = bytes.fromhex, b2a_base64
    default_type, no_encodings = "application/octet-stream", _NO_ENCODINGS
    for logical, record in raw.items():
        try:
            hashed = record["hashed"]
            size = record["size"]
            if type(hashed) is not str or not hashed or type(size) is not int or size < 0:
                raise ValueError(hashed)
            encodings = record.get("encodings")
            encodings = _variants(encodings) if encodings else no_encodings
            sha256, integrity = record.get("sha256", ""), record.get("integrity", "")
            # _pack's work inline, for the common case: a hex sha256 and its own SRI value
            raw_sha256: bytes | str
            raw_integrity: str | None
            try:
                raw_sha256 = fromhex(sha256)
            except (TypeError, ValueError):
                raw_sha256 = b""
            if len(raw_sha256) == 32 and type(integrity) is str:
                raw_integrity = (
                    None
                    if integrity == "sha256-" + b64(raw_sha256, newline=False).decode()
                    else integrity
                )
            else:
                raw_sha256, raw_integrity = pack(sha256, integrity)
            out[logical] = new(
                entry_type,
                (
                    logical,
                    hashed,
                    size,
                    intern(record.get("content_type") or default_type),
                    raw_sha256,
                    raw_integrity,
                    encodings,
                ),
            )
        except (TypeError, ValueError, KeyError, AttributeError):
            raise not_a_manifest(where, f"bad entry for {logical!r}") from None
    return out


def _variants(raw: dict[str, Any]) -> dict[str, Variant]:
    return {
        str(name): Variant(str(v["path"]), _size(v["size"]), str(v.get("integrity", "")))
        for name, v in raw.items()
    }


def _size(value: Any) -> int:
    if type(value) is not int or value < 0:
        raise ValueError(value)
    return value
