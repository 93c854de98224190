"""Serve the collected static files from Django, in front of the views (sync and async).

::

    MIDDLEWARE = [
        "django.middleware.security.SecurityMiddleware",
        "corral.contrib.django.middleware.CorralMiddleware",   # right after, like WhiteNoise's
        ...
    ]

The root and URL are the ``staticfiles`` storage's (``STORAGES["staticfiles"]``, else
``STATIC_ROOT``/``STATIC_URL``). With ``DEBUG = True`` files come from the finders, as
``runserver`` serves them, and nothing is cached; otherwise from corral's responder
(:mod:`corral.serve`), built once from ``corral-manifest.json``. Settings:

``CORRAL_MAX_AGE``
    ``Cache-Control: max-age`` of unhashed names (default 60).
``CORRAL_EXTRA_HEADERS``
    a callable (or its dotted path) given the path under ``STATIC_URL``, returning headers
    to add to that path's responses (e.g. CORS for fonts).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import FileResponse, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.utils.module_loading import import_string

from corral.errors import ManifestError
from corral.serve.responder import Responder, Response

__all__ = ["CorralMiddleware"]

CHUNK = 256 * 1024


class CorralMiddleware:
    """Answer requests under ``STATIC_URL`` with the collected files; pass the rest on."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[..., Any]) -> None:
        from django.contrib.staticfiles.storage import staticfiles_storage  # noqa: PLC0415

        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
        url = staticfiles_storage.base_url or settings.STATIC_URL or "/static/"
        if "://" in url:
            url = "/" + url.split("://", 1)[1].partition("/")[2]
        self.prefix = url if url.startswith("/") else "/" + url
        self.debug = bool(settings.DEBUG)
        self.responder: Responder | None = None
        if self.debug:
            return
        extra = getattr(settings, "CORRAL_EXTRA_HEADERS", None)
        if isinstance(extra, str):
            extra = import_string(extra)
        try:
            self.responder = Responder(
                staticfiles_storage.location,
                self.prefix,
                max_age=int(getattr(settings, "CORRAL_MAX_AGE", 60)),
                extra_headers=extra,
            )
        except ManifestError as exc:
            raise ImproperlyConfigured(
                f"CorralMiddleware: {exc} ({exc.hint}: `manage.py collectstatic`)"
            ) from None

    def __call__(self, request: Any) -> Any:
        if self.is_async:
            return self.__acall__(request)
        if not request.path.startswith(self.prefix):
            return self.get_response(request)
        if self.responder is None:
            return _from_finders(request, self.prefix)
        return _django_response(self._respond(request), asynchronous=False)

    async def __acall__(self, request: Any) -> Any:
        if not request.path.startswith(self.prefix):
            return await self.get_response(request)
        if self.responder is None:
            return await asyncio.to_thread(_from_finders, request, self.prefix)
        return _django_response(self._respond(request), asynchronous=True)

    def _respond(self, request: Any) -> Response:
        assert self.responder is not None
        meta = request.META

        def header(name: str) -> str | None:
            value = meta.get("HTTP_" + name.upper().replace("-", "_"))
            return value if isinstance(value, str) else None

        return self.responder.respond(request.method or "GET", request.path, header)


def _django_response(response: Response, *, asynchronous: bool) -> HttpResponseBase:
    out: HttpResponseBase
    file = response.file
    if file is None:
        out = HttpResponse(response.body, status=response.code)
    elif asynchronous:
        out = StreamingHttpResponse(
            _read_async(file.fileno(), response.offset, response.length, file.close),
            status=response.code,
        )
    elif response.code == 200:
        out = FileResponse(file, status=response.code)
    else:
        out = StreamingHttpResponse(
            _read(file, response.offset, response.length), status=response.code
        )
    for name in ("Content-Type", "Content-Disposition", "Content-Length"):
        if out.has_header(name):
            del out[name]
    for name, value in response.headers:
        out[name] = value
    return out


def _read(file: Any, offset: int, length: int) -> Iterator[bytes]:
    try:
        fd = file.fileno()
        while length > 0:
            chunk = os.pread(fd, min(CHUNK, length), offset)
            if not chunk:
                return
            offset += len(chunk)
            length -= len(chunk)
            yield chunk
    finally:
        file.close()


async def _read_async(
    fd: int, offset: int, length: int, close: Callable[[], None]
) -> AsyncIterator[bytes]:
    try:
        while length > 0:
            chunk = await asyncio.to_thread(os.pread, fd, min(CHUNK, length), offset)
            if not chunk:
                return
            offset += len(chunk)
            length -= len(chunk)
            yield chunk
    finally:
        close()


def _from_finders(request: Any, prefix: str) -> HttpResponseBase:
    """DEBUG: the file the finders find, as ``runserver`` serves it, never cached."""
    from django.contrib.staticfiles.views import serve  # noqa: PLC0415
    from django.http import Http404  # noqa: PLC0415

    try:
        response: HttpResponseBase = serve(request, request.path[len(prefix) :], insecure=True)
    except Http404:
        response = HttpResponse(b"Not Found\n", status=404, content_type="text/plain")
        response["Cache-Control"] = "no-store"
        return response
    response["Cache-Control"] = "no-cache"
    return response
