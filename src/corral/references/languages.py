"""The languages whose references corral finds: one entry per language, one per kind.

Everything the rest of corral knows about a language lives here: the suffixes of
its files, the function that finds its references, whether those references are
rewritten to hashed names, and, per kind of reference, how messages name it, the
default policy for a reference to a file that is not collected, and whether it is
an ES module specifier (which a bare name like ``"react"`` never resolves as a
path). Adding a language (HTML, a JSON import map) is a tokenizer module and an
entry in :data:`LANGUAGES`; its kinds go in :data:`KINDS`. How each kind's
construct is written back is :mod:`corral.references.rewrite`'s job.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from corral.references.css import css_references
from corral.references.js import js_references
from corral.references.sourcemaps import sourcemap_references
from corral.references.text import Reference

__all__ = [
    "KINDS",
    "LANGUAGES",
    "REWRITTEN_SUFFIXES",
    "SCANNED_SUFFIXES",
    "Language",
    "Policy",
    "ReferenceKind",
    "language_of",
]

#: What to do about a reference to a file that is not collected.
Policy = Literal["error", "warn", "ignore"]

#: ``(text, modules) -> references``; ``modules=False`` may leave module specifiers out.
Finder = Callable[[str, bool], list[Reference]]


@dataclass(frozen=True, slots=True)
class ReferenceKind:
    """One kind of reference: the construct it was found in."""

    name: str
    what: str  # how messages name the construct
    missing: Policy  # default policy when the file it names is not collected
    module: bool = False  # an ES module specifier: only ./, ../ and / ones are paths


@dataclass(frozen=True, slots=True)
class Language:
    """A language corral finds references in."""

    name: str
    suffixes: tuple[str, ...]  # lower case, with the dot; matched case-insensitively
    find: Finder
    rewritten: bool  # whether its references are rewritten to hashed names
    kinds: tuple[str, ...]  # the kinds its finder reports


# Missing url()/@import/module targets break pages: errors. Source maps only break
# debugging (and third-party packages often ship without them): warnings.
_KINDS = (
    ReferenceKind("url", "url()", "error"),  # CSS url(...)
    ReferenceKind("import", "@import", "error"),  # CSS @import "x" / @import url(x)
    ReferenceKind("image-set", "image-set()", "error"),  # a string directly in image-set()
    ReferenceKind("sourcemap", "sourceMappingURL", "warn"),  # the comment, in CSS or JS
    ReferenceKind("module", "import/export", "error", module=True),  # static import/export
    ReferenceKind("dynamic-import", "import()", "error", module=True),  # import("x")
    ReferenceKind("sourcemap-file", 'source map "file"', "warn"),  # a source map's "file"
)

#: Every kind of reference by name, in the order messages and settings list them.
KINDS: Mapping[str, ReferenceKind] = MappingProxyType({kind.name: kind for kind in _KINDS})


def _css(text: str, modules: bool) -> list[Reference]:
    return css_references(text)


def _js(text: str, modules: bool) -> list[Reference]:
    return js_references(text, modules=modules)


def _sourcemap(text: str, modules: bool) -> list[Reference]:
    return sourcemap_references(text)


#: Every language, each once.
LANGUAGES: tuple[Language, ...] = (
    Language("css", (".css",), _css, True, ("url", "import", "image-set", "sourcemap")),
    Language(
        "javascript", (".js", ".mjs", ".cjs"), _js, True, ("module", "dynamic-import", "sourcemap")
    ),
    Language("source map", (".map",), _sourcemap, False, ("sourcemap-file",)),
)

_BY_SUFFIX: Mapping[str, Language] = {s: lang for lang in LANGUAGES for s in lang.suffixes}

#: The suffixes of every file whose references are found, for ``str.endswith``.
SCANNED_SUFFIXES: tuple[str, ...] = tuple(_BY_SUFFIX)
#: The suffixes of the files whose references are rewritten.
REWRITTEN_SUFFIXES: tuple[str, ...] = tuple(s for s, lang in _BY_SUFFIX.items() if lang.rewritten)


def language_of(path: str) -> Language | None:
    """The language of the file ``path`` by its suffix (any case), or None."""
    dot = path.rfind(".")
    return _BY_SUFFIX.get(path[dot:].lower()) if dot >= 0 else None
