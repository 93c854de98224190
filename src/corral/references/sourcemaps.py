"""Find the reference in a source map: its top-level ``"file"`` field.

Only ``file`` is reported (``sources`` name original files that are usually not
collected; ``file`` names the generated file the map belongs to). The walk is
position-aware, so ``start``/``end`` point into the original text, inside the
quotes, and a later stage can rewrite the value in place. Source maps are
advisory: text that is not one valid JSON object (or has no string ``file``)
yields no reference rather than an error. The ``)]}'`` line that some servers
put in front of a map to defeat XSSI is skipped, as the source map spec says.
"""

from __future__ import annotations

import json
import re

from corral.references.text import LineIndex, Reference

__all__ = ["sourcemap_references"]

_WS = re.compile(r"[ \t\n\r]*")
_XSSI_PREFIX = ")]}'"
_DECODER = json.JSONDecoder()


def sourcemap_references(text: str) -> list[Reference]:
    """Return the ``file`` reference of the source map ``text`` (zero or one).

    Invalid JSON, a top level that is not an object, or a ``file`` that is not
    a string gives ``[]``. When ``file`` appears more than once the last one
    counts, as with :func:`json.loads`.
    """
    try:
        found = _find_file(text)
    except (ValueError, IndexError, RecursionError):  # RecursionError: nesting too deep
        return []
    if found is None:
        return []
    url, quote_start, quote_end = found
    span = (quote_start + 1, quote_end - 1)
    return [LineIndex(text).reference("sourcemap-file", url, span, (quote_start, quote_end), '"')]


def _skip(text: str, i: int) -> int:
    m = _WS.match(text, i)
    return m.end() if m else i


def _find_file(text: str) -> tuple[str, int, int] | None:
    """Walk the top-level object; raise ValueError/IndexError on invalid JSON."""
    i = 1 if text.startswith("\ufeff") else 0
    if text.startswith(_XSSI_PREFIX, i):
        newline = text.find("\n", i)
        i = len(text) if newline < 0 else newline + 1
    i = _skip(text, i)
    if text[i] != "{":
        raise ValueError("not an object")
    i = _skip(text, i + 1)
    found: tuple[str, int, int] | None = None
    if text[i] == "}":
        i += 1
    else:
        while True:
            if text[i] != '"':
                raise ValueError("expected a key")
            key, i = _DECODER.raw_decode(text, i)
            i = _skip(text, i)
            if text[i] != ":":
                raise ValueError("expected ':'")
            i = _skip(text, i + 1)
            value, end = _DECODER.raw_decode(text, i)
            if key == "file":
                found = (value, i, end) if isinstance(value, str) else None
            i = _skip(text, end)
            if text[i] == "}":
                i += 1
                break
            if text[i] != ",":
                raise ValueError("expected ',' or '}'")
            i = _skip(text, i + 1)
    if _skip(text, i) != len(text):
        raise ValueError("extra data")
    return found
