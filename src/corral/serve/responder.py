"""One framework-free responder: a request's method, path and headers in, a response out.

Built once at start-up from ``ROOT/corral-manifest.json`` (its ``files`` and its
``retained`` releases): the only file system calls at start-up are reading that file
and one ``stat`` of it. The table maps URL paths to manifest entries; a request path
is looked up *exactly* in it, so nothing a URL holds (``..``, ``%2e``, backslashes,
NUL, absolute paths) ever becomes a file system path, and only files a manifest lists
are served (never ``staticfiles.json``, dot-files or corral's bookkeeping).

Hashed names (the current release's and the retained releases') are served with
everything the manifest knows: size, content type, a strong ETag per representation
(from its own digest) and the precompressed variants. An unhashed name (the current
release's logical path) is served from its own file, whose bytes can differ from the
hashed copy (references are rewritten only in the hashed copy); its digests are
computed the first time it is asked for, once per process.

Whatever the headers hold, :meth:`Responder.respond` answers; it never raises for a
request.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import BinaryIO, NamedTuple

from corral.manifest import CORRAL_MANIFEST, Manifest, ManifestEntry, read_manifest
from corral.serve.http import (
    accepted_codings,
    http_date,
    matches_any,
    parse_http_date,
    parse_range,
    with_charset,
)

__all__ = ["Headers", "Responder", "Response"]

log = logging.getLogger("corral.serve")

Headers = list[tuple[str, str]]
ExtraHeaders = Callable[[str], Iterable[tuple[str, str]]]

IMMUTABLE = "public, max-age=31536000, immutable"
ALLOW = "GET, HEAD"
# Representations up to SMALL are kept in memory after their first read (CACHE_LIMIT in
# all): most compressed stylesheets and scripts are, and answering from memory spares an
# open, a stat and a close per request.
SMALL = 256 * 1024
CACHE_LIMIT = 32 * 1024 * 1024
# How many distinct Accept-Encoding values each resource remembers its choice for.
CHOICES = 16
_CODINGS = ("zstd", "br", "gzip")
_REASONS = {
    200: "200 OK",
    206: "206 Partial Content",
    304: "304 Not Modified",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    416: "416 Range Not Satisfiable",
}


class Response(NamedTuple):
    """What to send: status line, headers, and the body as bytes or an open file.

    ``file`` (when not None) is open and positioned nowhere in particular: send
    ``length`` bytes from ``offset``, then close it. ``path`` is its absolute path
    (for servers that send files by path). A HEAD response has neither body nor file.
    """

    status: str
    headers: Headers
    body: bytes = b""
    file: BinaryIO | None = None
    path: str = ""
    offset: int = 0
    length: int = 0
    #: ``headers`` encoded for ASGI (lower-case names, latin-1), when made in advance
    raw_headers: tuple[tuple[bytes, bytes], ...] = ()

    @property
    def code(self) -> int:
        return int(self.status[:3])


class _Rep(NamedTuple):
    """One representation of a resource: identity or a precompressed variant."""

    path: str  # relative to the root, from the manifest
    size: int
    etag: str
    coding: str  # "identity", "br", "gzip", "zstd"
    # The headers made in advance (and encoded for ASGI in the *_raw forms): ``validated``
    # is the resource's headers + ETag (+ Content-Encoding), what a 206 and a 416 start
    # from; ``whole`` adds Accept-Ranges and Content-Length, as a 200 sends them;
    # ``not_modified`` is what a 304 sends: only what updates a cache's stored copy
    # (RFC 9110 15.4.5: Cache-Control, ETag, Vary, and the extra headers)
    validated: tuple[tuple[str, str], ...] = ()
    whole: tuple[tuple[str, str], ...] = ()
    not_modified: tuple[tuple[str, str], ...] = ()
    whole_raw: tuple[tuple[bytes, bytes], ...] = ()
    not_modified_raw: tuple[tuple[bytes, bytes], ...] = ()


class _Resource(NamedTuple):
    reps: Mapping[str, _Rep]  # coding -> representation
    codings: tuple[str, ...]  # the encodings besides identity, for negotiation
    headers: Headers  # Content-Type, Cache-Control, Last-Modified, Vary, extras
    identity: _Rep
    chosen: dict[str | None, _Rep]  # Accept-Encoding value -> the representation it gets


#: The request headers the responder reads, by the names ``header`` is asked for:
#: lower-case HTTP names (:meth:`Responder.respond`), or WSGI environ keys.
HeaderNames = tuple[str, str, str, str, str]
HTTP_NAMES: HeaderNames = ("accept-encoding", "if-none-match", "if-modified-since", "range",
                           "if-range")  # fmt: skip
WSGI_NAMES: HeaderNames = ("HTTP_ACCEPT_ENCODING", "HTTP_IF_NONE_MATCH",
                           "HTTP_IF_MODIFIED_SINCE", "HTTP_RANGE", "HTTP_IF_RANGE")  # fmt: skip

_new = tuple.__new__


class Responder:
    """Answers requests for the files of one collected root under one URL prefix.

    ``max_age`` is the Cache-Control max-age (seconds) of unhashed names;
    ``extra_headers`` is called once per path (relative to the prefix) and what it
    returns is added to that path's 200, 206 and 304 responses (e.g. CORS for fonts).
    Raises :class:`~corral.errors.ManifestError` if the manifest is missing or corrupt.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        url: str | None = None,
        *,
        max_age: int = 60,
        extra_headers: ExtraHeaders | None = None,
        manifest: Manifest | None = None,
    ) -> None:
        self.root = os.fspath(Path(root).absolute())
        where = os.path.join(self.root, CORRAL_MANIFEST)
        if manifest is None:
            manifest = read_manifest(where)
        self.manifest = manifest
        self.prefix = _prefix(url if url is not None else manifest.url)
        self.max_age = max_age
        self._extra = extra_headers
        try:
            modified = os.stat(where).st_mtime
        except OSError:
            modified = 0.0
        self._last_modified_ts = int(modified)
        self._last_modified = http_date(self._last_modified_ts)
        # The manifest's own tables are the lookup tables (nothing is copied at start-up):
        # hashed names (current and retained), then the current release's logical names.
        self._hashed = manifest.by_hashed
        self._files = manifest.files
        self._resources: dict[str, _Resource] = {}
        self._cache: dict[str, bytes] = {}
        self._cached = 0
        self._warned: set[str] = set()

    def __len__(self) -> int:
        """How many URL paths (under the prefix) this responder serves."""
        plain = [n for n, e in self._files.items() if n != e.hashed and n not in self._hashed]
        return sum(1 for n in [*self._hashed, *plain] if _safe(n))

    def _lookup(self, name: str) -> tuple[ManifestEntry, bool] | None:
        entry = self._hashed.get(name)
        if entry is not None:
            return (entry, True) if _safe(name) else None
        entry = self._files.get(name)
        if entry is None or entry.hashed == name or not _safe(name):
            return None
        return entry, False

    def handles(self, path: str) -> bool:
        """Whether ``path`` (a decoded URL path) is under this responder's prefix."""
        return path.startswith(self.prefix)

    def respond(self, method: str, path: str, header: Callable[[str], str | None]) -> Response:
        """Answer ``method`` on ``path`` (decoded URL path); ``header(name)`` gives a request
        header's value (name in lower case) or None."""
        return self.answer(method, path, header, HTTP_NAMES)

    def answer(
        self,
        method: str,
        path: str,
        header: Callable[[str], object],
        names: HeaderNames,
        read_limit: int = 0,
    ) -> Response:
        """:meth:`respond` with the header names ``header`` knows (:data:`HTTP_NAMES` or
        :data:`WSGI_NAMES`, so a WSGI server's ``environ.get`` serves as is); a value that
        is not a string counts as absent. A body of up to ``read_limit`` bytes that is not
        in memory is read here and returned as ``body`` (no ``file``): for servers that
        have no use for an open file (one read spares them a file object and a loop)."""
        if not path.startswith(self.prefix):
            return _not_found()
        name = path[len(self.prefix) :]
        resource = self._resources.get(name)
        if resource is None:
            found = self._lookup(name)
            if found is None:
                return _not_found()
            if method not in _METHODS:
                return _not_allowed()
            resource = self._resource(name, *found)
            if resource is None:
                return _not_found()
        elif method not in _METHODS:
            return _not_allowed()
        return self._answer(method, name, resource, header, names, read_limit)

    # -- per request ------------------------------------------------------------------

    def _answer(
        self,
        method: str,
        name: str,
        resource: _Resource,
        header: Callable[[str], object],
        names: HeaderNames,
        read_limit: int,
    ) -> Response:
        if resource.codings:
            accept = header(names[0])
            key = accept if type(accept) is str else None
            rep = resource.chosen.get(key)
            if rep is None:
                rep = _negotiate(resource, key)
                if len(resource.chosen) >= CHOICES:
                    resource.chosen.clear()
                resource.chosen[key] = rep
        else:
            rep = resource.identity
        if_none_match = header(names[1])
        if type(if_none_match) is str:
            if if_none_match == rep.etag or matches_any(if_none_match, rep.etag):
                return _new(Response, (_NOT_MODIFIED, list(rep.not_modified), b"", None, "",
                                       0, 0, rep.not_modified_raw))  # fmt: skip
        else:
            since = header(names[2])
            if type(since) is str:
                when = parse_http_date(since)
                if when is not None and self._last_modified_ts <= when:
                    return _new(Response, (_NOT_MODIFIED, list(rep.not_modified), b"", None,
                                           "", 0, 0, rep.not_modified_raw))  # fmt: skip
        range_header = header(names[3])
        if type(range_header) is not str or method != "GET":
            # the whole representation: the common case, its headers made in advance
            if method == "HEAD":
                return _new(Response, (_OK, list(rep.whole), b"", None, "", 0, 0, rep.whole_raw))
            cached = self._cache.get(rep.path)
            if cached is not None:
                return _new(Response, (_OK, list(rep.whole), cached, None, "", 0, 0,
                                       rep.whole_raw))  # fmt: skip
            return self._body(name, rep, _OK, list(rep.whole), 0, rep.size, rep.whole_raw,
                              read_limit)  # fmt: skip
        wanted = parse_range(range_header, rep.size)
        if_range = header(names[4])
        if wanted is None or not _if_range(if_range if type(if_range) is str else None, rep.etag):
            return self._body(name, rep, _OK, list(rep.whole), 0, rep.size, rep.whole_raw,
                              read_limit)  # fmt: skip
        if not wanted.satisfiable:
            headers = [h for h in rep.validated if h[0] != "Content-Encoding"]
            headers.append(("Content-Range", f"bytes */{rep.size}"))
            headers.append(("Content-Length", "0"))
            return Response(_REASONS[416], headers)
        headers = list(rep.validated)  # Content-Encoding (if any) is its last
        headers.append(("Accept-Ranges", "bytes"))
        headers.append(("Content-Range", f"bytes {wanted.start}-{wanted.end}/{rep.size}"))
        headers.append(("Content-Length", str(wanted.length)))
        return self._body(name, rep, _REASONS[206], headers, wanted.start, wanted.length, (),
                          read_limit)  # fmt: skip

    def _body(
        self,
        name: str,
        rep: _Rep,
        status: str,
        headers: Headers,
        offset: int,
        length: int,
        raw: tuple[tuple[bytes, bytes], ...],
        read_limit: int,
    ) -> Response:
        cached = self._cache.get(rep.path)
        if cached is not None:
            return Response(status, headers, cached[offset : offset + length], raw_headers=raw)
        full = os.path.join(self.root, rep.path)
        if length <= read_limit and (rep.size > SMALL or self._cached + rep.size > CACHE_LIMIT):
            return self._read(name, rep, full, (status, headers, offset, length, raw))
        try:
            file = open(full, "rb")  # noqa: SIM115 - the server closes it once sent
        except OSError as exc:
            return self._vanished(name, full, exc)
        try:
            size = os.fstat(file.fileno()).st_size
            if size != rep.size:
                file.close()
                return self._vanished(name, full, None)
            if size <= SMALL and self._cached + size <= CACHE_LIMIT:
                data = file.read()
                file.close()
                if len(data) != rep.size:
                    return self._vanished(name, full, None)
                self._cache[rep.path] = data
                self._cached += size
                return Response(status, headers, data[offset : offset + length], raw_headers=raw)
        except OSError as exc:
            file.close()
            return self._vanished(name, full, exc)
        return Response(status, headers, b"", file, full, offset, length, raw)

    def _read(
        self,
        name: str,
        rep: _Rep,
        full: str,
        answer: tuple[str, Headers, int, int, tuple[tuple[bytes, bytes], ...]],
    ) -> Response:
        """The response ``answer`` describes (status, headers, offset, length, raw headers)
        with its bytes read at once: no file object, one ``pread``."""
        status, headers, offset, length, raw = answer
        try:
            fd = os.open(full, os.O_RDONLY)
        except OSError as exc:
            return self._vanished(name, full, exc)
        try:
            if os.fstat(fd).st_size != rep.size:
                return self._vanished(name, full, None)
            data = os.pread(fd, length, offset)
        except OSError as exc:
            return self._vanished(name, full, exc)
        finally:
            os.close(fd)
        if len(data) != length:
            return self._vanished(name, full, None)
        return Response(status, headers, data, raw_headers=raw)

    def _vanished(self, name: str, full: str, exc: OSError | None) -> Response:
        self._resources.pop(name, None)
        if full not in self._warned:
            self._warned.add(full)
            why = exc.strerror if exc is not None else "its size differs from the manifest's"
            log.warning(
                "corral: %s is listed in the manifest but can't be served (%s); "
                "answering 404 (run `corral collect` to restore it)",
                full,
                why,
            )
        return _not_found()

    # -- once per path ----------------------------------------------------------------

    def _resource(self, name: str, entry: ManifestEntry, hashed: bool) -> _Resource | None:
        reps: dict[str, _Rep] = {}
        if hashed:
            reps["identity"] = _Rep(entry.hashed, entry.size, _etag_hex(entry.sha256), "identity")
            for coding, variant in entry.encodings.items():
                if coding in _CODINGS and _safe(variant.path):
                    etag = _etag_sri(variant.integrity) or _etag_hex(
                        hashlib.sha256(variant.path.encode()).hexdigest()
                    )
                    reps[coding] = _Rep(variant.path, variant.size, etag, coding)
            cache_control = IMMUTABLE
        else:
            identity = self._digest(entry.logical, "identity")
            if identity is None:
                self._vanished(name, os.path.join(self.root, entry.logical), None)
                return None
            reps["identity"] = identity
            for coding, variant in entry.encodings.items():
                suffix = variant.path[len(entry.hashed) :]
                if coding in _CODINGS and variant.path.startswith(entry.hashed) and suffix:
                    rep = self._digest(entry.logical + suffix, coding)
                    if rep is not None:
                        reps[coding] = rep
            cache_control = f"public, max-age={self.max_age}"
        codings = tuple(c for c in _CODINGS if c in reps)
        headers: Headers = [
            ("Content-Type", with_charset(entry.content_type)),
            ("Cache-Control", cache_control),
            ("Last-Modified", self._last_modified),
        ]
        if codings:
            headers.append(("Vary", "Accept-Encoding"))
        if self._extra is not None:
            headers.extend(self._extra(name))
        kept = [h for h in headers if h[0] not in _NOT_IN_304]
        for coding, rep in reps.items():
            validated = [*headers, ("ETag", rep.etag)]
            if coding != "identity":
                validated.append(("Content-Encoding", coding))
            whole = [*validated, ("Accept-Ranges", "bytes"), ("Content-Length", str(rep.size))]
            not_modified = [*kept, ("ETag", rep.etag)]
            reps[coding] = rep._replace(
                validated=tuple(validated),
                whole=tuple(whole),
                not_modified=tuple(not_modified),
                whole_raw=_raw(whole),
                not_modified_raw=_raw(not_modified),
            )
        resource = _Resource(reps, codings, headers, reps["identity"], {})
        self._resources[name] = resource
        return resource

    def _digest(self, relpath: str, coding: str) -> _Rep | None:
        """A representation of an unhashed file, digested once (None if it is missing)."""
        if not _safe(relpath):
            return None
        digest = hashlib.sha256()
        size = 0
        try:
            with open(os.path.join(self.root, relpath), "rb") as file:
                while chunk := file.read(1 << 20):
                    digest.update(chunk)
                    size += len(chunk)
        except OSError:
            return None
        return _Rep(relpath, size, _etag_hex(digest.hexdigest()), coding)


def _negotiate(resource: _Resource, accept: str | None) -> _Rep:
    """The representation ``Accept-Encoding: accept`` gets: the highest q-value, ties to
    the smallest; identity when nothing is acceptable (RFC 9110 12.5.3)."""
    best: _Rep | None = None
    best_q = 0.0
    for coding, weight in accepted_codings(accept, resource.codings).items():
        candidate = resource.reps.get(coding)
        if candidate is None:
            continue
        if best is None or weight > best_q or (weight == best_q and candidate.size < best.size):
            best, best_q = candidate, weight
    return best if best is not None else resource.identity


def _raw(headers: Iterable[tuple[str, str]]) -> tuple[tuple[bytes, bytes], ...]:
    return tuple((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers)


_METHODS = frozenset(("GET", "HEAD"))
# Representation metadata a 304 leaves out (RFC 9110 15.4.5: the cache has it, and the
# ETag is there to validate with, so Last-Modified is not needed either).
_NOT_IN_304 = frozenset(("Content-Type", "Last-Modified"))
_OK = "200 OK"
_NOT_MODIFIED = "304 Not Modified"


def _not_allowed() -> Response:
    return Response(
        _REASONS[405], [("Allow", ALLOW), ("Content-Length", "0"), ("Cache-Control", "no-store")]
    )


def _not_found() -> Response:
    body = b"Not Found\n"
    return Response(
        _REASONS[404],
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Cache-Control", "no-store"),
            ("Content-Length", str(len(body))),
        ],
        body=body,
    )


def _if_range(value: str | None, etag: str) -> bool:
    """Whether a Range may be honoured under ``If-Range: value`` (strong ETag match only;
    a date never matches, since a date validator is weak for files changed within a
    second and every representation here has a strong ETag)."""
    if value is None:
        return True
    return value.strip() == etag


def _prefix(url: str) -> str:
    if "://" in url:
        url = "/" + url.split("://", 1)[1].partition("/")[2]
    if not url.startswith("/"):
        url = "/" + url
    return url if url.endswith("/") else url + "/"


def _safe(relpath: str) -> bool:
    """A manifest path names a file inside the root: relative, no ``..`` or dot segments,
    no backslash or NUL, no state-directory or dot-file component."""
    if not relpath or relpath.startswith("/") or "\\" in relpath or "\0" in relpath:
        return False
    return all(part and not part.startswith(".") for part in relpath.split("/"))


def _etag_hex(hexdigest: str) -> str:
    return f'"{hexdigest[:32]}"'


def _etag_sri(integrity: str) -> str:
    _, _, b64 = integrity.partition("-")
    try:
        raw = base64.b64decode(b64, validate=True)
    except ValueError:
        return ""
    return _etag_hex(raw.hex()) if raw else ""
