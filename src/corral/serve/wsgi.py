"""The WSGI forms of the responder: an app serving a root on its own, and a middleware.

::

    application = WSGIApp("/srv/static", url="/static/")          # only static files
    application = WSGIMiddleware(django_app, "/srv/static", url="/static/")

Whole files and ranges of them go out through ``wsgi.file_wrapper`` when the server
offers one (gunicorn sends them with ``sendfile``: a range as the file positioned at its
start, with its ``Content-Length``, and reads that stop at its end for servers that read
instead); servers without it (granian) get a body of up to 256 KiB read at once and
returned as a one-element list (which they send in one go), a longer one in reads of
256 KiB.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, BinaryIO

from corral.serve.responder import WSGI_NAMES, ExtraHeaders, Responder, Response

__all__ = ["WSGIApp", "WSGIMiddleware"]

StartResponse = Callable[..., Any]
WSGIApplication = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

CHUNK = 256 * 1024


class WSGIApp:
    """A WSGI application serving the collected ``root`` under ``url``; 404 elsewhere."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        url: str = "/static/",
        *,
        max_age: int = 60,
        extra_headers: ExtraHeaders | None = None,
        responder: Responder | None = None,
    ) -> None:
        self.responder = responder or Responder(
            root, url, max_age=max_age, extra_headers=extra_headers
        )

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        response = self.responder.answer(
            environ.get("REQUEST_METHOD", "GET"),
            _path(environ),
            environ.get,
            WSGI_NAMES,
            0 if "wsgi.file_wrapper" in environ else CHUNK,
        )
        return _send(response, environ, start_response)


class WSGIMiddleware:
    """Serve the root's files under ``url`` in front of ``app``; everything else goes to it.

    A 404 under ``url`` is answered here (``Cache-Control: no-store``), so a CDN never
    caches a missing file for long during a deploy.
    """

    def __init__(
        self,
        app: WSGIApplication,
        root: str | os.PathLike[str],
        url: str = "/static/",
        *,
        max_age: int = 60,
        extra_headers: ExtraHeaders | None = None,
        responder: Responder | None = None,
    ) -> None:
        self.app = app
        self.responder = responder or Responder(
            root, url, max_age=max_age, extra_headers=extra_headers
        )

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = _path(environ)
        if not self.responder.handles(path):
            return self.app(environ, start_response)
        response = self.responder.answer(
            environ.get("REQUEST_METHOD", "GET"),
            path,
            environ.get,
            WSGI_NAMES,
            0 if "wsgi.file_wrapper" in environ else CHUNK,
        )
        return _send(response, environ, start_response)


def _path(environ: dict[str, Any]) -> str:
    """The decoded request path (PEP 3333 carries it as latin-1 code points of its bytes)."""
    raw = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    if raw.isascii():
        return str(raw)
    try:
        return str(raw.encode("latin-1").decode("utf-8"))
    except (UnicodeEncodeError, UnicodeDecodeError):
        return "\0"  # not UTF-8: names no file


def _send(
    response: Response, environ: dict[str, Any], start_response: StartResponse
) -> Iterable[bytes]:
    start_response(response.status, response.headers)
    file = response.file
    if file is None:
        return [response.body] if response.body else []
    wrapper = environ.get("wsgi.file_wrapper")
    if wrapper is not None:
        if response.code == 200:
            return wrapper(file, CHUNK)  # type: ignore[no-any-return]
        return wrapper(_Slice(file, response.offset, response.length), CHUNK)  # type: ignore[no-any-return]
    return _FileIterator(file, response.offset, response.length)


class _Slice:
    """``length`` bytes of ``file`` from ``offset`` as a file: positioned at ``offset``
    (``sendfile`` starts where the file is and sends ``Content-Length`` bytes), its reads
    ending at ``offset + length`` (for a ``file_wrapper`` that reads)."""

    def __init__(self, file: BinaryIO, offset: int, length: int) -> None:
        file.seek(offset)
        self.file = file
        self.left = length

    def fileno(self) -> int:
        return self.file.fileno()

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        data = self.file.read(self.left if size < 0 else min(size, self.left))
        self.left -= len(data)
        return data

    def close(self) -> None:
        self.file.close()


class _FileIterator:
    """``length`` bytes of ``file`` from ``offset``, in chunks; closes the file."""

    def __init__(self, file: BinaryIO, offset: int, length: int) -> None:
        self.file = file
        self.offset = offset
        self.left = length

    def __iter__(self) -> Iterator[bytes]:
        fd = self.file.fileno()
        while self.left > 0:
            chunk = os.pread(fd, min(CHUNK, self.left), self.offset)
            if not chunk:
                break
            self.offset += len(chunk)
            self.left -= len(chunk)
            yield chunk

    def close(self) -> None:
        self.file.close()
