"""One text file's side of fingerprinting: find and resolve its references, then rewrite them.

:func:`scan` decodes a CSS, JavaScript or source map file, finds its
references with the tokenizers of :mod:`corral.references` and sorts the ones
that name a file into links (to collected files) and missing references.
:func:`render` writes the file back with its links pointing at hashed names,
in Django's format (:func:`corral.references.rewrite`), keeping a BOM.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass

from corral.errors import DecodeError
from corral.fingerprint.model import Missing, Rewrite
from corral.fingerprint.names import sha256_hex
from corral.fingerprint.options import FingerprintOptions
from corral.fingerprint.urls import Referent, new_url, resolve
from corral.references import (
    Reference,
    decode_text,
    encode_text,
    find_references,
    has_bom,
    rewrite,
)
from corral.references.languages import REWRITTEN_SUFFIXES, SCANNED_SUFFIXES

__all__ = ["Found", "Link", "Scan", "adjustable", "find", "rebuild", "render", "scan", "scannable"]


def scannable(logical: str) -> bool:
    """Whether ``logical`` is a file whose references are found (CSS, JS, source map)."""
    return logical.lower().endswith(SCANNED_SUFFIXES)


def adjustable(logical: str, options: FingerprintOptions) -> bool:
    """Whether ``logical``'s references are rewritten (CSS and JS, not pass-through)."""
    return logical.lower().endswith(REWRITTEN_SUFFIXES) and not options.is_passthrough(logical)


@dataclass(frozen=True, slots=True)
class Link:
    """A reference that names a collected file."""

    ref: Reference
    target: Referent


@dataclass(slots=True)
class Scan:
    """A decoded text file and what its references name."""

    data: bytes
    text: str
    bom: bool
    links: list[Link]
    missing: list[Missing]

    def deps(self) -> tuple[str, ...]:
        """The collected files it references, sorted, each once."""
        return _deps(self.links)


def scan(logical: str, data: bytes, files: Set[str], options: FingerprintOptions) -> Scan:
    """Decode ``data`` (the bytes of ``logical``) and resolve its references against ``files``.

    Module specifiers are ignored unless ``options.modules``. Raises
    :class:`~corral.errors.DecodeError` if ``data`` is not UTF-8.
    """
    text = decode_text(data, logical)
    links: list[Link] = []
    missing: list[Missing] = []
    for ref in find_references(logical, text, modules=options.modules) or ():
        target = resolve(ref.url, ref.kind, logical, options.url)
        if target is None:
            continue
        if not target.outside and target.logical in files:
            links.append(Link(ref, target))
        else:
            missing.append(Missing(ref.kind, ref.url, target.logical, ref.line, ref.column))
    return Scan(data, text, has_bom(data), links, missing)


@dataclass(frozen=True, slots=True)
class Found:
    """What scanning a file found, without its text: small enough to cross processes.

    ``digest`` is the SHA-256 of the bytes scanned; a result is used only for
    exactly those bytes (:func:`rebuild`).
    """

    digest: str
    links: tuple[Link, ...]
    missing: tuple[Missing, ...]

    def deps(self) -> tuple[str, ...]:
        return _deps(self.links)


def _deps(links: Iterable[Link]) -> tuple[str, ...]:
    return tuple(sorted({link.target.logical for link in links}))


def find(
    logical: str,
    data: bytes,
    files: Set[str],
    options: FingerprintOptions,
    *,
    digest: str | None = None,
) -> Found | None:
    """Scan ``data`` and keep only what was found; None if it is not UTF-8.

    ``digest`` is the SHA-256 of ``data`` when the caller already has it.
    """
    try:
        scanned = scan(logical, data, files, options)
    except DecodeError:
        return None  # the engine reads it again and reports it
    return Found(digest or sha256_hex(data), tuple(scanned.links), tuple(scanned.missing))


def rebuild(logical: str, data: bytes, found: Found) -> Scan | None:
    """The :class:`Scan` of ``data`` from what :func:`find` found in it, without tokenizing.

    None if ``data`` are not the bytes ``found`` was made from.
    """
    if sha256_hex(data) != found.digest:
        return None
    text = decode_text(data, logical)
    return Scan(data, text, has_bom(data), list(found.links), list(found.missing))


def render(logical: str, scanned: Scan, hashed: Mapping[str, str]) -> tuple[bytes, list[Rewrite]]:
    """Return ``scanned``'s bytes with every link whose target is in ``hashed`` rewritten.

    ``hashed`` maps logical paths to hashed names; links to files not in it
    (yet), or whose hashed name is their own (pass-through), stay as written.
    Returns the bytes (``scanned.data`` itself when nothing changed) and the
    rewrites made.
    """
    replacements: dict[Reference, str] = {}
    rewrites: list[Rewrite] = []
    for link in scanned.links:
        name = hashed.get(link.target.logical)
        if name is None or name == link.target.logical:
            continue
        url = new_url(link.target.url, name)
        if url != link.ref.url:
            replacements[link.ref] = url
            rewrites.append(Rewrite(logical, link.ref.line, link.ref.column, link.ref.url, url))
    if not replacements:
        return scanned.data, rewrites
    return encode_text(rewrite(scanned.text, replacements), bom=scanned.bom), rewrites
