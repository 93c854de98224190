"""Starlette (or FastAPI) with corral: a mounted StaticFiles and the Jinja2 helpers."""

from __future__ import annotations

import os

from jinja2 import DictLoader, Environment
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route
from starlette.templating import Jinja2Templates

from corral.contrib.starlette import StaticFiles, template_helpers

ROOT = os.environ.get("STATIC_ROOT", "/tmp/static-root")
PAGE = """<!doctype html>
<link rel="stylesheet" href="{{ corral_url('css/site.css') }}"
      integrity="{{ corral_integrity('css/site.css') }}" crossorigin="anonymous">
<h1>Starlette + corral</h1>"""

env = Environment(loader=DictLoader({"home.html": PAGE}), autoescape=True)
templates = Jinja2Templates(env=env)
template_helpers(templates, ROOT, url="/static/")


async def home(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "home.html")


app = Starlette(routes=[Route("/", home), Mount("/static", app=StaticFiles(ROOT, url="/static/"))])
