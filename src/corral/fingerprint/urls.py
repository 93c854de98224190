"""Reference URLs: what a reference names, and the URL it gets once that file has a hashed name.

:func:`resolve` mirrors the skip rules of Django's ``url_converter`` and then
resolves like a browser: the referencing file's directory joined with the
percent-decoded path, normalised with ``posixpath.normpath``. Skipped (``None``):

* empty references, fragment-only ``#x``, and query-only ``?x``;
* any ``scheme:`` in any case (``data:``, ``https:``, ``DATA:``, ``git+ssh:``);
  Django skips lower-case ``[a-z]+:`` only and dies on ``Data:...`` as a
  missing file;
* ``//host/...`` and root-absolute paths outside the static URL;
* paths ending in ``/`` (Django: "don't hash paths");
* ES module and ``import()`` specifiers that do not start with ``./``,
  ``../`` or ``/``: bare specifiers such as ``"react"`` are resolved by an
  import map or a bundler, never against the file's directory (Django resolves
  a bare ``import("x")`` as a path and dies on it).

:func:`new_url` builds the rewritten URL as Django's ``url_converter`` does:
the reference's directory part as written (percent-decoded, as Django
decodes it), the hashed name's last segment, then the query and fragment
(with the ``?#iefix`` font hack). Deliberately unlike Django, the query and
fragment are kept exactly as written (Django percent-decodes them too, which
turns ``%26`` into a real ``&``), and a ``%``, ``?`` or ``#`` that decoding
would put into the path is written back as ``%25``, ``%3F``, ``%23``.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from urllib.parse import unquote

from corral.references import KINDS, Kind

__all__ = ["Referent", "new_url", "resolve", "split_url"]

_URL_BLANKS = "".join(map(chr, range(0x21)))  # what URL parsers strip: C0 controls and space
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_MODULE_KINDS = frozenset(name for name, kind in KINDS.items() if kind.module)
_RELATIVE_SPECIFIER = ("./", "../", "/")
_REQUOTE = re.compile(r"[%?#]")


@dataclass(frozen=True, slots=True)
class Referent:
    """What a reference resolves to.

    ``logical`` is the normalised logical path (it may climb out of the root,
    e.g. ``"../x.png"``: then ``outside`` is True and no file can match).
    ``url`` is the reference with the blanks a URL parser strips removed.
    """

    logical: str
    url: str
    outside: bool


def split_url(url: str) -> tuple[str, str, str]:
    """Split ``url`` into (path, query, fragment) at the first ``#`` and the first ``?``."""
    rest, _, fragment = url.partition("#")
    path, _, query = rest.partition("?")
    return path, query, fragment


def resolve(url: str, kind: Kind, referrer: str, static_url: str) -> Referent | None:
    """Return what the reference ``url`` of ``kind`` in ``referrer`` names, or None if skipped.

    ``referrer`` is the referencing file's logical path; ``static_url`` the
    prefix under which root-absolute references name collected files. See the
    module docstring for what is skipped.
    """
    url = url.strip(_URL_BLANKS)
    if not url or url.startswith("#") or url.startswith("//") or _SCHEME.match(url):
        return None
    if kind in _MODULE_KINDS and not url.startswith(_RELATIVE_SPECIFIER):
        return None
    path, _, _ = split_url(url)
    if not path or path.endswith("/"):
        return None
    if path.startswith("/"):
        if not (static_url.startswith("/") and path.startswith(static_url)):
            return None
        # Dot segments go over the whole path, as a browser resolves them before the
        # request leaves it: "/static/../static/x.png" is x.png, not a climb out of the root.
        absolute = posixpath.normpath(unquote(path))
        if absolute.startswith(static_url):
            joined = absolute[len(static_url) :]
        else:
            joined = unquote(path[len(static_url) :])
    else:
        joined = posixpath.join(posixpath.dirname(referrer), unquote(path))
    logical = posixpath.normpath(joined)
    outside = logical in (".", "..") or logical.startswith(("../", "/"))
    return Referent(logical, url, outside)


def new_url(url: str, hashed: str) -> str:
    """Return the reference ``url`` (as :attr:`Referent.url`) pointing at ``hashed``.

    ``hashed`` is the hashed logical path of the file ``url`` resolves to.
    """
    path, query, fragment = split_url(url)
    head, slash, _ = path.rpartition("/")
    out = _requote(unquote(head)) + slash + _requote(hashed.rpartition("/")[2])
    if query:
        out += "?" + query
    if fragment:
        out += ("?#" if "?#" in url else "#") + fragment
    return out


def _requote(text: str) -> str:
    """Percent-encode the characters that would change what a decoded path means."""
    if "%" not in text and "?" not in text and "#" not in text:
        return text
    return _REQUOTE.sub(lambda m: f"%{ord(m.group()):02X}", text)
