"""One view, to show that requests outside STATIC_URL reach Django."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path


def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"django:{request.path}", content_type="text/plain")


urlpatterns = [path("app/", hello)]
