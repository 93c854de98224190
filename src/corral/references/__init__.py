"""Find the references inside CSS, JavaScript and source map files, and rewrite them.

Comment- and string-aware scanners (not regexes over the whole file) report
each reference with its exact span, line and column::

    text = decode_text(data, "app.css")      # strict UTF-8, BOM removed
    refs = css_references(text)              # or js_references / sourcemap_references
    new = rewrite(text, {ref: hashed_url(ref) for ref in refs})
    data = encode_text(new, bom=has_bom(data))

Tokenizers return every reference, including ``data:``, ``#fragment``,
``scheme:``, ``//host`` and absolute URLs and bare module specifiers: deciding
which ones name a collected file is the reference graph's job.
"""

from __future__ import annotations

from corral.references.css import css_references
from corral.references.js import js_references
from corral.references.languages import (
    KINDS,
    LANGUAGES,
    Language,
    Policy,
    ReferenceKind,
    language_of,
)
from corral.references.rewrite import rewrite
from corral.references.sourcemaps import sourcemap_references
from corral.references.text import Kind, Reference, decode_text, encode_text, has_bom

__all__ = [
    "KINDS",
    "LANGUAGES",
    "Kind",
    "Language",
    "Policy",
    "Reference",
    "ReferenceKind",
    "css_references",
    "decode_text",
    "encode_text",
    "find_references",
    "has_bom",
    "js_references",
    "language_of",
    "rewrite",
    "sourcemap_references",
]


def find_references(path: str, text: str, *, modules: bool = True) -> list[Reference] | None:
    """Return the references in ``text`` by the language ``path``'s suffix names.

    The languages and their suffixes are :data:`LANGUAGES` (``.css``, ``.js``,
    ``.mjs``, ``.cjs``, ``.map``, in any case); for any other file return None: it
    is not scanned. ``modules=False`` leaves out JavaScript module specifiers (and
    spares tokenizing a script without a source map comment).
    """
    language = language_of(path)
    return None if language is None else language.find(text, modules)
