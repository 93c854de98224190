"""Request header parsing for the responder (RFC 9110), total: bad input never raises.

Every parser here takes the raw header value (or ``None`` when the header is absent)
and returns a plain answer; a malformed value is treated as the RFC says a server may
treat it (ignored), never as an error.
"""

from __future__ import annotations

from datetime import UTC
from email.utils import formatdate, parsedate_to_datetime

__all__ = [
    "ByteRange",
    "accepted_codings",
    "http_date",
    "matches_any",
    "parse_accept_encoding",
    "parse_http_date",
    "parse_range",
    "with_charset",
]

# What an unlisted identity gets: acceptable, but below every coding the client listed.
IDENTITY_DEFAULT_Q = 0.001


_ACCEPTED: dict[tuple[str, tuple[str, ...]], dict[str, float]] = {}


def accepted_codings(header: str | None, codings: tuple[str, ...]) -> dict[str, float]:
    """:func:`parse_accept_encoding`, remembered for the few hundred headers clients send
    most (the result is shared: don't change it)."""
    if header is None:
        return {"identity": 1.0}
    key = (header, codings)
    known = _ACCEPTED.get(key)
    if known is None:
        known = parse_accept_encoding(header, codings)
        if len(_ACCEPTED) >= 512:
            _ACCEPTED.clear()
        _ACCEPTED[key] = known
    return known


def parse_accept_encoding(header: str | None, codings: tuple[str, ...]) -> dict[str, float]:
    """The quality value the client gives each of ``codings`` and ``"identity"``.

    Absent header: identity only (the conservative reading; RFC 9110 12.5.3 allows
    any coding). ``q=0`` excludes; ``*`` covers codings not named; an unnamed
    identity stays acceptable (at a tiny quality) unless ``identity;q=0`` or
    ``*;q=0`` excludes it. A coding missing from the result is not acceptable.
    """
    if header is None:
        return {"identity": 1.0}
    named: dict[str, float] = {}
    star: float | None = None
    for item in header.split(","):
        coding, _, params = item.partition(";")
        coding = coding.strip().lower()
        if not coding:
            continue
        q = _quality(params)
        if q is None:
            continue  # malformed weight: ignore this element
        if coding == "*":
            star = q
        elif coding == "x-gzip":
            named.setdefault("gzip", q)
        else:
            named.setdefault(coding, q)
    out: dict[str, float] = {}
    for coding in codings:
        q = named.get(coding, star if star is not None else 0.0)
        if q > 0:
            out[coding] = q
    if "identity" in named:
        identity = named["identity"]
    elif star is not None and star == 0:
        identity = 0.0
    else:
        identity = IDENTITY_DEFAULT_Q
    if identity > 0:
        out["identity"] = identity
    return out


def _quality(params: str) -> float | None:
    q = 1.0
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() != "q":
            continue
        value = value.strip()
        if not value or len(value) > 5 or not all(c.isdigit() or c == "." for c in value):
            return None
        try:
            q = float(value)
        except ValueError:
            return None
        if not 0 <= q <= 1:
            return None
    return q


def matches_any(header: str, etag: str) -> bool:
    """Whether ``If-None-Match: header`` matches ``etag`` (weak comparison, ``*``, lists)."""
    header = header.strip()
    if header == "*":
        return True
    opaque = etag[2:] if etag.startswith("W/") else etag
    for item in header.split(","):
        tag = item.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag == opaque:
            return True
    return False


def http_date(timestamp: float) -> str:
    """``timestamp`` as an IMF-fixdate (``Sun, 06 Nov 1994 08:49:37 GMT``)."""
    return formatdate(timestamp, usegmt=True)


def parse_http_date(value: str | None) -> float | None:
    """Seconds since the epoch of an HTTP date (any of the three formats), else None."""
    if not value or len(value) > 64:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:  # asctime format: GMT by definition (RFC 9110 5.6.7)
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.timestamp()
    except (OverflowError, OSError, ValueError):
        return None


class ByteRange:
    """The answer to a ``Range`` header for a representation of a given length."""

    __slots__ = ("length", "satisfiable", "start")

    def __init__(self, start: int, length: int, *, satisfiable: bool = True) -> None:
        self.start = start
        self.length = length
        self.satisfiable = satisfiable

    @property
    def end(self) -> int:
        """The last byte's offset (inclusive), as ``Content-Range`` writes it."""
        return self.start + self.length - 1


_UNSATISFIABLE = ByteRange(0, 0, satisfiable=False)


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The single byte range ``header`` asks of ``size`` bytes.

    ``None`` means "send the whole representation": no header, a malformed one, a unit
    other than ``bytes``, or several ranges (answered 200 with the whole file, which
    RFC 9110 14.2 permits). An unsatisfiable range gives ``satisfiable=False`` (416).
    """
    if header is None or len(header) > 256:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    first, last = first.strip(), last.strip()
    if not dash or not (first.isdigit() or first == "") or not (last.isdigit() or last == ""):
        return None
    if not first.isascii() or not last.isascii():
        return None
    if first == "":
        if last == "":
            return None
        suffix = int(last)
        if suffix == 0 or size == 0:
            return _UNSATISFIABLE
        start = max(size - suffix, 0)
        return ByteRange(start, size - start)
    start = int(first)
    if last and int(last) < start:
        return None  # invalid range-spec: ignored, the whole file is sent
    if start >= size:
        return _UNSATISFIABLE
    end = min(int(last), size - 1) if last else size - 1
    return ByteRange(start, end - start + 1)


_TEXTUAL = ("application/javascript", "application/xml", "image/svg+xml")


def with_charset(content_type: str) -> str:
    """``content_type`` with ``; charset=utf-8`` added for text (corral's text is UTF-8)."""
    if ";" in content_type:
        return content_type
    if content_type.startswith("text/") or content_type in _TEXTUAL:
        return content_type + "; charset=utf-8"
    return content_type
