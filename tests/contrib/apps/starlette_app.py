"""A Starlette app mounting corral's StaticFiles, with the Jinja2 helpers (test_starlette.py)."""

from __future__ import annotations

import os

from jinja2 import DictLoader, Environment
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route
from starlette.templating import Jinja2Templates

from corral.contrib.starlette import StaticFiles, template_helpers

ROOT = os.environ["CORRAL_TEST_ROOT"]
PAGE = (
    '<link href="{{ corral_url("css/app.css") }}"'
    ' integrity="{{ corral_integrity("css/app.css") }}">'
)
env = Environment(loader=DictLoader({"page.html": PAGE}), autoescape=True)
templates = Jinja2Templates(env=env)
template_helpers(templates, ROOT, url="/static/")


async def home(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "page.html")


app = Starlette(
    routes=[
        Route("/", home),
        Mount("/static", app=StaticFiles(ROOT, url="/static/"), name="static"),
    ]
)
asgi = app
