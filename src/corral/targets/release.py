"""The locally built release, as the objects a bucket should hold.

Walks the build directory (every file but corral's ``.corral/``), classifies each file
(content-hashed name, other name, precompressed variant, manifest), gives it the headers
it is served with and the phase it is uploaded in, and its sha256 — read once and
remembered by file identity in ``digests.json`` next to the build, so a no-change run
hashes nothing.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from corral.digest import file_sha256
from corral.targets.location import S3Options
from corral.targets.store import Headers

__all__ = ["PHASES", "LocalObject", "hashed_object", "read_release"]

#: Upload phases, in order: hashed names (and their variants), other names, corral's
#: manifest, Django's manifest.
PHASES = ("hashed", "plain", "corral-manifest", "manifest")
_PRIVATE = frozenset({".corral", ".corral-staging"})  # an older layout's state; a run's staging
_VARIANTS = {".br": "br", ".gz": "gzip", ".zst": "zstd"}
_TEXT_TYPES = frozenset(
    {
        "application/javascript",
        "application/json",
        "application/manifest+json",
        "application/xml",
        "image/svg+xml",
        "application/xhtml+xml",
        "application/ld+json",
    }
)


@dataclass(frozen=True, slots=True)
class LocalObject:
    """One object to publish: its release path, file, digest, size and headers."""

    relative: str
    #: The file, as a string: a ``Path`` per object held about 0.6 KiB more, 20 MiB on a
    #: release of 38,000 objects.
    path: str
    sha256: str
    size: int
    headers: Headers
    phase: int

    @property
    def meta(self) -> str:
        """What the headers are, in one comparable string (a change re-uploads)."""
        h = self.headers
        return sys.intern(f"{h.content_type}|{h.cache_control}|{h.content_encoding or ''}")


def read_release(
    root: Path,
    digests_file: Path,
    options: S3Options,
    manifest_names: tuple[str, ...],
) -> list[LocalObject]:
    """Every file of the release built in ``root``, as objects to publish."""
    files = _walk(root)
    cache = _load_digests(digests_file)
    fresh: dict[str, list[object]] = {}
    hashed = _hashed_names(root, manifest_names[0])
    names = set(files)
    objects: list[LocalObject] = []
    in_place: dict[str, str] = {}  # original -> its in-place variant's path
    if options.in_place is not None:
        suffix = {v: k for k, v in _VARIANTS.items()}[options.in_place]
        in_place = {n[: -len(suffix)]: n for n in names if n.endswith(suffix)}
        in_place = {base: v for base, v in in_place.items() if base in names}
    base_dir = str(root)
    for relative in sorted(files):
        size = files[relative][0]
        base, encoding = _variant(relative, names)
        if encoding is not None and options.in_place is not None:
            continue  # with one encoding in place, variants are not keys of their own
        source = relative
        if relative in in_place:
            source, encoding = in_place[relative], options.in_place
            size = files[source][0]
        identity = list(files[source])
        known = cache.get(source)
        if known is not None and known[:4] == identity:
            digest = str(known[4])
        else:
            digest = file_sha256(root / source)
        fresh[source] = [*identity, digest]
        if relative in manifest_names:  # corral's manifest, then Django's (what pages read)
            phase, cache_control = 3 - manifest_names.index(relative), options.cache_control
        elif base in hashed:
            phase, cache_control = 0, options.cache_control_hashed
        else:
            phase, cache_control = 1, options.cache_control
        headers = Headers(_media(base), cache_control, encoding, digest)
        objects.append(LocalObject(relative, f"{base_dir}/{source}", digest, size, headers, phase))
    if fresh != cache:
        _save_digests(digests_file, fresh)
    return objects


def hashed_object(
    relative: str, path: str, sha256: str, size: int, options: S3Options
) -> LocalObject:
    """A hashed name, or a variant of one (``app.<hash>.css.br``), as :func:`read_release`
    would describe it: for an upload before the release is complete (see ``overlap.py``)."""
    dot = relative.rfind(".")
    encoding = _VARIANTS.get(relative[dot:]) if dot > 0 else None
    base = relative[:dot] if encoding is not None else relative
    headers = Headers(_media(base), options.cache_control_hashed, encoding, sha256)
    return LocalObject(relative, path, sha256, size, headers, 0)


def _media(base: str) -> str:
    """The Content-Type of the name ``base``, with a charset for text."""
    from corral.fingerprint.manifest import content_type  # noqa: PLC0415 - heavy

    media = content_type(base)
    if media.startswith("text/") or media in _TEXT_TYPES:
        media = sys.intern(media + "; charset=utf-8")  # one string per type, not per file
    return media


def _walk(root: Path) -> dict[str, tuple[int, int, int, int]]:
    """Each file's identity: size, mtime and ctime (ns), inode."""
    found: dict[str, tuple[int, int, int, int]] = {}
    stack = [(str(root), "")]
    while stack:
        directory, prefix = stack.pop()
        with os.scandir(directory) as entries:
            for entry in entries:
                name = prefix + entry.name
                if entry.is_dir(follow_symlinks=False):
                    if name not in _PRIVATE:
                        stack.append((entry.path, name + "/"))
                else:
                    stat = entry.stat()  # follows a `link = true` release's links
                    found[name] = (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)
    return found


def _variant(relative: str, names: set[str]) -> tuple[str, str | None]:
    """``(original, encoding)`` for a variant corral made; ``(relative, None)`` otherwise."""
    dot = relative.rfind(".")
    encoding = _VARIANTS.get(relative[dot:]) if dot > 0 else None
    if encoding is not None and relative[:dot] in names:
        return relative[:dot], encoding
    return relative, None


def _hashed_names(root: Path, manifest_name: str) -> frozenset[str]:
    try:
        data = json.loads((root / manifest_name).read_bytes())
    except (OSError, ValueError):
        return frozenset()  # no fingerprinting: every name is plain
    paths = data.get("paths", {}) if isinstance(data, dict) else {}
    return frozenset(v for v in paths.values() if isinstance(v, str))


def _load_digests(path: Path) -> dict[str, list[object]]:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save_digests(path: Path, data: dict[str, list[object]]) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(data, separators=(",", ":")))
    os.replace(temporary, path)
