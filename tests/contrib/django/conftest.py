"""Real Django for the integration's tests: configured once, overridden per test.

Settings are configured here once (the minimum: corral's app before staticfiles, the
template engine ``{% load corral %}`` needs); every test then gets its own project in
``tmp_path`` through the :func:`django_project` fixture, which applies its settings with
``override_settings`` and resets what Django caches across settings (the finders, the
``staticfiles`` storage) on the way in and out. Runs that must be a process of their own
(exit codes, stderr of an uncaught error) go through :meth:`Project.manage`.
"""

from __future__ import annotations

import importlib
import io
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import django
import pytest
from django.conf import settings

from ...conftest import write_tree

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="corral-tests",
        INSTALLED_APPS=["corral.contrib.django", "django.contrib.staticfiles"],
        STATIC_URL="/static/",
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates"}],
        USE_TZ=True,
    )
    django.setup()

from django.contrib.staticfiles import finders, storage
from django.core.management import call_command
from django.test import override_settings
from django.utils.functional import empty

SRC = Path(__file__).resolve().parents[3] / "src"

#: Django 6.0 logs conflicts and ``--clear``'s deletions at verbosity 2 (1 before), and its
#: summary line adds "N static files deleted" and "N skipped due to conflict".
DJANGO_6 = django.VERSION >= (6, 0)
QUIET_LEVEL = 2 if DJANGO_6 else 1

CORRAL_MANIFEST = "corral.contrib.django.storage.ManifestStaticFilesStorage"
DJANGO_MANIFEST = "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
CORRAL_STORAGE = "corral.contrib.django.storage.CorralStorage"
PLAIN = "django.contrib.staticfiles.storage.StaticFilesStorage"


def reset_caches() -> None:
    """What Django caches across a settings change (as its own staticfiles tests reset)."""
    finders.get_finder.cache_clear()
    storage.staticfiles_storage._wrapped = empty


def storages(backend: str, **options: Any) -> dict[str, Any]:
    staticfiles: dict[str, Any] = {"BACKEND": backend}
    if options:
        staticfiles["OPTIONS"] = options
    return {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": staticfiles,
    }


@dataclass
class Run:
    """One command run: what it printed, and what it returned or exited with."""

    stdout: str
    stderr: str
    returncode: int = 0


@dataclass
class Project:
    """A Django project in a temporary directory: sources, a STATIC_ROOT, its settings."""

    base: Path
    settings: dict[str, Any] = field(default_factory=dict)
    _overrides: list[override_settings] = field(default_factory=list)
    _modules: list[str] = field(default_factory=list)

    @property
    def root(self) -> Path:
        return Path(self.settings["STATIC_ROOT"])

    @property
    def assets(self) -> Path:
        return self.base / "assets"

    def write(self, files: Mapping[str, str | bytes], under: str = "assets") -> Path:
        return write_tree(self.base / under, files)

    def app(self, name: str, files: Mapping[str, str | bytes]) -> Path:
        """A real app package ``name`` (importable from ``apps/``) with these static files."""
        apps_dir = self.base / "apps"
        tree = {"__init__.py": "", **{f"static/{k}": v for k, v in files.items()}}
        write_tree(apps_dir / name, tree)
        if str(apps_dir) not in sys.path:
            sys.path.insert(0, str(apps_dir))
        importlib.invalidate_caches()
        self._modules.append(name)
        return apps_dir / name / "static"

    def configure(self, **changes: Any) -> None:
        """Apply settings on top of the current ones (undone when the test ends)."""
        self.settings.update(changes)
        override = override_settings(**changes)
        override.enable()
        self._overrides.append(override)
        reset_caches()

    def restore(self) -> None:
        while self._overrides:
            self._overrides.pop().disable()
        reset_caches()
        apps_dir = str(self.base / "apps")
        if apps_dir in sys.path:
            sys.path.remove(apps_dir)
        for name in self._modules:
            sys.modules.pop(name, None)

    def collectstatic(self, *args: str, verbosity: int = 1, **options: Any) -> Run:
        """``collectstatic`` in this process, as Django's own tests call it."""
        out, err = io.StringIO(), io.StringIO()
        options.setdefault("interactive", False)
        call_command("collectstatic", *args, verbosity=verbosity, stdout=out, stderr=err, **options)
        return Run(out.getvalue(), err.getvalue())

    def findstatic(self, *args: str, verbosity: int = 1) -> Run:
        out, err = io.StringIO(), io.StringIO()
        call_command("findstatic", *args, verbosity=verbosity, stdout=out, stderr=err)
        return Run(out.getvalue(), err.getvalue())

    def manage(self, *args: str) -> Run:
        """``manage.py ARGS`` in a process of its own, with this project's settings."""
        package = self.base / "proj_settings"
        package.mkdir(exist_ok=True)
        (package / "__init__.py").write_text("", encoding="utf-8")
        values = {"INSTALLED_APPS": list(settings.INSTALLED_APPS), **self.settings}
        lines = ["from pathlib import PosixPath", "SECRET_KEY = 'corral-tests'"]
        lines += [f"{key} = {value!r}" for key, value in sorted(values.items())]
        (package / "settings.py").write_text("\n".join(lines) + "\n", encoding="utf-8")
        manage = self.base / "manage.py"
        manage.write_text(
            textwrap.dedent(
                """\
                import os, sys
                os.environ["DJANGO_SETTINGS_MODULE"] = "proj_settings.settings"
                from django.core.management import execute_from_command_line
                execute_from_command_line(sys.argv)
                """
            ),
            encoding="utf-8",
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
        env["PYTHONPATH"] = os.pathsep.join([str(self.base), str(self.base / "apps"), str(SRC)])
        done = subprocess.run(
            [sys.executable, str(manage), *args],
            cwd=self.base,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        return Run(done.stdout, done.stderr, done.returncode)


@pytest.fixture
def django_project(tmp_path: Path) -> Iterator[Project]:
    """A project with ``assets/`` as its one STATICFILES_DIRS entry and Django's storage."""
    project = Project(tmp_path)
    project.assets.mkdir()
    project.configure(
        BASE_DIR=str(tmp_path),
        STATIC_ROOT=str(tmp_path / "static_root"),
        STATIC_URL="/static/",
        STATICFILES_DIRS=[str(project.assets)],
        STATICFILES_FINDERS=[
            "django.contrib.staticfiles.finders.FileSystemFinder",
            "django.contrib.staticfiles.finders.AppDirectoriesFinder",
        ],
        STORAGES=storages(PLAIN),
        DEBUG=False,
    )
    try:
        yield project
    finally:
        project.restore()
