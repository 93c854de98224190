"""corral for Flask: serving, ``flask corral collect``, and template helpers.

::

    from flask import Flask
    from corral.contrib.flask import Corral

    app = Flask(__name__)
    Corral(app)            # or: corral = Corral(); corral.init_app(app)

    {{ corral_url("css/app.css") }}  {{ corral_integrity("js/app.js") }}   (templates)
    $ flask corral collect                                              (shell)

Configuration (``app.config``): ``CORRAL_ROOT``, the collected root (default
``static_root`` beside the app's package); ``CORRAL_SOURCES``, the directories collected
(default the app's ``static_folder``); ``CORRAL_URL``, the URL prefix (default the app's
``static_url_path``); ``CORRAL_MAX_AGE`` (unhashed names' max-age, default 60). Requests
under the prefix are answered by :class:`corral.serve.WSGIMiddleware` in front of Flask
(in debug mode Flask's own static route serves the sources instead, uncached). The
manifest is read when the first static request arrives, so ``flask corral collect``
works before there is one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
from flask import Flask
from flask.cli import AppGroup

from corral.contrib.templates import TemplateHelpers

__all__ = ["Corral"]


class Corral:
    """The Flask extension (see the module docstring)."""

    def __init__(self, app: Flask | None = None) -> None:
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        root = Path(app.config.get("CORRAL_ROOT") or Path(app.root_path) / "static_root")
        url = app.config.get("CORRAL_URL") or (app.static_url_path or "/static") + "/"
        url = url if url.endswith("/") else url + "/"
        sources = app.config.get("CORRAL_SOURCES") or (
            [app.static_folder] if app.static_folder else []
        )
        helpers = TemplateHelpers(root, url, strict=not app.debug)
        app.jinja_env.globals.update(helpers.globals())
        app.extensions["corral"] = {"root": root, "url": url, "helpers": helpers}
        if not app.debug:
            app.wsgi_app = _Lazy(  # type: ignore[method-assign]
                app.wsgi_app, root, url, int(app.config.get("CORRAL_MAX_AGE", 60))
            )
        app.cli.add_command(_commands(root, url, [Path(s) for s in sources]))


class _Lazy:
    """The WSGI middleware, built on the first request under the prefix."""

    def __init__(self, app: Any, root: Path, url: str, max_age: int) -> None:
        self.app = app
        self.root, self.url, self.max_age = root, url, max_age
        self.middleware: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self.middleware is None:
            path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
            if not path.startswith(self.url):
                return self.app(environ, start_response)
            from corral.serve.wsgi import WSGIMiddleware  # noqa: PLC0415

            self.middleware = WSGIMiddleware(self.app, self.root, self.url, max_age=self.max_age)
        return self.middleware(environ, start_response)


def _commands(root: Path, url: str, sources: list[Path]) -> AppGroup:
    group = AppGroup("corral", help="corral: collect and serve static files.")

    @group.command("collect")
    @click.option("--keep", type=int, default=2, show_default=True, help="older releases kept")
    def collect(keep: int) -> None:
        """Collect the static files into the root (CORRAL_ROOT) as a new release."""
        from corral import Config, CorralError, DirectorySource  # noqa: PLC0415
        from corral import collect as run  # noqa: PLC0415

        config = Config(
            sources=tuple(DirectorySource(s) for s in sources), root=root, url=url, keep=keep
        )
        try:
            report = run(config)
        except CorralError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(
            f"Collected into {os.fspath(root)}: {len(report.new)} new, "
            f"{len(report.changed)} changed -> release {report.release}"
        )

    return group
