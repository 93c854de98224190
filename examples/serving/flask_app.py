"""Flask with corral: `flask --app flask_app corral collect`, then serve."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, render_template_string

from corral.contrib.flask import Corral

app = Flask(
    __name__,
    static_folder=str(Path(__file__).parent / "static"),
    static_url_path="/static",
)
app.config["CORRAL_ROOT"] = os.environ.get("STATIC_ROOT", "/tmp/static-root")
Corral(app)

PAGE = """<!doctype html>
<link rel="stylesheet" href="{{ corral_url('css/site.css') }}"
      integrity="{{ corral_integrity('css/site.css') }}" crossorigin="anonymous">
<h1>Flask + corral</h1>"""


@app.route("/")
def home() -> str:
    return render_template_string(PAGE)
