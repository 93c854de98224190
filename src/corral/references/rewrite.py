"""Rewrite references in a text file, producing Django's bytes where Django is right.

Django 5.2 rewrites with ``HashedFilesMixin.patterns``: regexes whose whole
match is replaced by a template. With ``django_style=True`` (the default) a
rewritten construct gets exactly Django's template, so for every input Django
handles correctly the output bytes, and so the hashes, are Django's:

* CSS ``url(x)``, ``url('x')``, ``url( "x" )``, any case (``URL(``) and
  ``@import url(x)``: the ``url(...)`` becomes ``url("NEW")`` (Django's
  ``default_template``; it always writes double quotes).
* CSS ``@import "x"`` / ``@import 'x'``: becomes ``@import url("NEW")``.
* ``/*# sourceMappingURL=x */`` (tabs, no blank before ``*/``) becomes
  ``/*# sourceMappingURL=NEW */``; ``//# sourceMappingURL=x`` with trailing
  blanks becomes ``//# sourceMappingURL=NEW``.
* JS modules (Django's opt-in ``support_js_module_import_aggregation``):
  ``import<clause> from "NEW";``, ``export<clause> from "NEW";``,
  ``import"NEW";`` and ``import("NEW")``, when the statement has the shape
  Django's patterns match: the specifier starts with ``.`` or ``/``, a ``;``
  follows it, quotes and ``import(`` are not separated by blanks. Django copies
  the clause as written and normalises the blanks around ``from``; so do we.

Where corral deliberately differs:

* Only the references a tokenizer found are touched: ``url()`` or ``import``
  inside comments and strings stays as written (Django rewrites them, ticket
  #21080, and dies when they name a missing file).
* References absent from the mapping, or mapped to their own ``url``, are left
  byte for byte as written (Django reformats every match it does not skip,
  e.g. ``url(fonts/)`` becomes ``url("fonts/")``).
* The new URL is escaped for where it goes (a ``"`` in a CSS string, a space in
  an unquoted ``url()``); Django pastes it raw.
* A CRLF line keeps its ``\\r``: Django's ``//# sourceMappingURL`` rule swallows it.
* Constructs Django does not match or mangles (a JS import without ``;``,
  ``import( "x" )`` with blanks, a comment between ``from`` and the string,
  bare specifiers), strings inside ``image-set()`` and the ``file`` of a source
  map (Django rewrites neither): only the URL text between the quotes is
  replaced, the rest is kept as written.

``django_style=False`` always does that last thing: it replaces only each
reference's ``start:end`` span.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from urllib.parse import quote as percent_quote

from corral.references.text import Reference

__all__ = ["rewrite"]

_Edit = tuple[int, int, str]
_DQ = '"'

_CSS_CLOSE = re.compile(r"[ \t\n\r\f]*\)")
_SEMICOLON = re.compile(r"\s*;")
_DJANGO_IMPORT_HEAD = re.compile(r"import(?P<clause>[\s{].*?|\*\s*as\s*\w+)\s*from\s*", re.S)
_DJANGO_EXPORT_HEAD = re.compile(r"export(?P<clause>[\s{].*?)\s*from\s*", re.S)
_DJANGO_BARE_HEAD = re.compile(r"import\s*")
_CSS_STRING_SPECIAL = {q: re.compile(rf"[\\\n\r\f{q}]") for q in "\"'"}
_CSS_URL_SPECIAL = re.compile(r"""[\\"'()\s\x00-\x1f\x7f]""")
_JS_STRING_SPECIAL = {
    '"': re.compile('[\\\\"\n\r\u2028\u2029]'),
    "'": re.compile("[\\\\'\n\r\u2028\u2029]"),
    "`": re.compile(r"[\\`\r]|\$(?=\{)"),
}
_JS_ESCAPES = {"\n": "\\n", "\r": "\\r", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_BLANK = re.compile(r"\s")


def rewrite(text: str, replacements: Mapping[Reference, str], *, django_style: bool = True) -> str:
    """Return ``text`` with each reference in ``replacements`` pointing at its new URL.

    ``replacements`` maps references found in this very ``text`` to the URL
    they should have (unescaped, as in :attr:`Reference.url`). A reference
    mapped to its own ``url`` is left untouched, so an identity mapping returns
    ``text`` itself; nothing outside the rewritten constructs changes. See the
    module docstring for the Django-compatible formatting and where it stops.
    Raises ValueError for a reference that does not fit ``text``.
    """
    edits = sorted(
        _edit(text, ref, new, django_style) for ref, new in replacements.items() if new != ref.url
    )
    if not edits:
        return text
    parts: list[str] = []
    last = 0
    for start, end, new_text in edits:
        if start < last:
            raise ValueError(f"overlapping references at offset {start}")
        parts.append(text[last:start])
        parts.append(new_text)
        last = end
    parts.append(text[last:])
    return "".join(parts)


def _edit(text: str, ref: Reference, new: str, django_style: bool) -> _Edit:
    if not (0 <= ref.construct_start <= ref.start <= ref.end <= ref.construct_end <= len(text)):
        raise ValueError(f"reference {ref.url!r} at offset {ref.start} does not fit this text")
    if django_style:
        edit = _django_edit(text, ref, new)
        if edit is not None:
            return edit
    return ref.start, ref.end, _escape(text, ref, new)


def _django_edit(text: str, ref: Reference, new: str) -> _Edit | None:
    """Django's template for ``ref``'s construct, or None where Django would not match."""
    cs, ce = ref.construct_start, ref.construct_end
    if ref.kind in ("url", "import"):
        if text[cs] == "@":
            return cs, ce, f'@import url("{_css_string(new, _DQ)}")'
        if _CSS_CLOSE.fullmatch(text, ref.end + len(ref.quote), ce):
            return cs, ce, f'url("{_css_string(new, _DQ)}")'
        return None
    if ref.kind == "sourcemap":
        marker = text[cs + 2]
        url = _comment_url(new, block=text.startswith("/*", cs))
        if text.startswith("/*", cs):
            return cs, ce, f"/*{marker} sourceMappingURL={url} */"
        return cs, ce, f"//{marker} sourceMappingURL={url}"
    if ref.quote not in ("'", '"'):
        return None
    specifier = f'"{_js_string(new, _DQ)}"'
    if ref.kind == "dynamic-import":
        if text[cs : ref.start - 1] == "import(" and ce == ref.end + 2:
            return ref.start - 1, ref.end + 1, specifier
        return None
    if ref.kind != "module" or text[ref.start : ref.start + 1] not in (".", "/"):
        return None
    semicolon = _SEMICOLON.match(text, ce)
    if semicolon is None:
        return None
    head = text[cs : ref.start - 1]
    if _DJANGO_BARE_HEAD.fullmatch(head):
        return cs, semicolon.end(), f"import{specifier};"
    m = (_DJANGO_IMPORT_HEAD if head.startswith("import") else _DJANGO_EXPORT_HEAD).fullmatch(head)
    if m is None:
        return None
    return cs, semicolon.end(), f"{head[:6]}{m['clause']} from {specifier};"


def _escape(text: str, ref: Reference, new: str) -> str:
    """``new`` written so that it means ``new`` where ``ref``'s URL text stands."""
    if ref.kind == "sourcemap-file":
        return json.dumps(new, ensure_ascii=False)[1:-1]
    if ref.kind in ("module", "dynamic-import"):
        return _js_string(new, ref.quote)
    if ref.kind == "sourcemap":
        return _comment_url(new, block=text.startswith("/*", ref.construct_start))
    if ref.quote:
        return _css_string(new, ref.quote)
    return _CSS_URL_SPECIAL.sub(_css_escape_char, new)


def _css_escape_char(m: re.Match[str]) -> str:
    c = m.group()
    if c in "\\\"'()":
        return "\\" + c
    # Whitespace and control characters need a hex escape; its trailing space ends it.
    return f"\\{ord(c):x} "


def _css_string(value: str, quote: str) -> str:
    return _CSS_STRING_SPECIAL[quote].sub(_css_escape_char, value)


def _js_string(value: str, quote: str) -> str:
    return _JS_STRING_SPECIAL[quote].sub(_js_escape_char, value)


def _js_escape_char(m: re.Match[str]) -> str:
    c = m.group()
    return _JS_ESCAPES.get(c, "\\" + c)


def _comment_url(value: str, *, block: bool) -> str:
    """A URL that can't end its comment: blanks percent-encoded, ``*/`` broken."""
    value = _BLANK.sub(lambda m: percent_quote(m.group()), value)
    return value.replace("*/", "*%2F") if block else value
