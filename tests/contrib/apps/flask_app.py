"""A Flask app with corral's extension, configured from the environment (test_flask.py)."""

from __future__ import annotations

import os

from flask import Flask, render_template_string

from corral.contrib.flask import Corral

app = Flask(__name__, static_folder=os.environ["CORRAL_TEST_SOURCES"], static_url_path="/static")
app.config["CORRAL_ROOT"] = os.environ["CORRAL_TEST_ROOT"]
Corral(app)

PAGE = (
    '<script src="{{ corral_url("js/main.js") }}" integrity="{{ corral_integrity("js/main.js") }}">'
)


@app.route("/")
def home() -> str:
    return render_template_string(PAGE)


wsgi = app
