"""corral's ``collectstatic`` next to stock Django's, of the installed version, on the same sources.

Each scenario runs the same steps twice: with Django's own ``collectstatic`` command (and
its own storage) into one STATIC_ROOT, and with corral's into another. What they print at
verbosity 1 — the messages (in any order) and the summary line with its counts ("N unmodified", "K
post-processed", and on Django 6 "skipped due to conflict") — must be the same, the root's
path aside. Where corral deliberately prints something else (``--clear``'s counts), the
difference is in docs/django-compat.md and checked in test_collectstatic.py.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.staticfiles.management.commands import collectstatic as stock
from django.core.management import call_command

from corral.contrib.django.management.commands import collectstatic as ours

from .conftest import DJANGO_MANIFEST, PLAIN, Project, storages

SITE = {
    "css/app.css": '@import "base.css";\nbody { background: url("../img/bg.png"); }\n',
    "css/base.css": "html { color: black; }\n",
    "img/bg.png": b"\x89PNG fake image bytes",
    "img/logo.svg": "<svg/>",
    "js/app.js": "console.log('app');\n",
    "robots.txt": "User-agent: *\n",
}


@dataclass
class Twin:
    """One project, collected by stock Django into ``stock_root`` and by corral into ``root``."""

    project: Project

    @property
    def stock_root(self) -> Path:
        return self.project.base / "stock_root"

    @property
    def root(self) -> Path:
        return self.project.base / "corral_root"

    def run(self, *args: str, verbosity: int = 1) -> tuple[str, str]:
        """Run both commands; return what each printed, with its root's path as <root>."""
        printed = []
        for command, root in ((stock.Command, self.stock_root), (ours.Command, self.root)):
            self.project.configure(STATIC_ROOT=str(root))
            out = io.StringIO()
            call_command(
                command(),
                *args,
                interactive=False,
                verbosity=verbosity,
                stdout=out,
                stderr=io.StringIO(),
            )
            printed.append(out.getvalue().replace(str(root), "<root>"))
        return printed[0], printed[1]

    def same(self, *args: str) -> str:
        """Run both; the same lines (per-file lines in any order: Django prints them in
        the order the file system lists them), the same summary line last."""
        django, corral = self.run(*args)
        assert sorted(corral.splitlines()) == sorted(django.splitlines())
        assert corral.splitlines()[-1] == django.splitlines()[-1]
        return corral

    def edit(self, name: str, content: bytes) -> None:
        """Change a source file so that both notice: corral by content, Django by mtime
        (its copy in its root is made older than the source, as after a real edit)."""
        (self.project.assets / name).write_bytes(content)
        past = time.time() - 60
        os.utime(self.stock_root / name, (past, past))


@pytest.fixture
def twin(django_project: Project) -> Iterator[Twin]:
    django_project.write(SITE)
    yield Twin(django_project)


def test_plain_storage_counts_as_django(twin: Twin) -> None:
    assert "6 static files copied" in twin.same()
    assert "0 static files copied to '<root>', 6 unmodified." in twin.same()
    twin.edit("js/app.js", b"console.log('changed');\n")
    assert "1 static file copied to '<root>', 5 unmodified." in twin.same()


def test_manifest_storage_counts_as_django(twin: Twin) -> None:
    twin.project.configure(STORAGES=storages(DJANGO_MANIFEST))
    assert "6 static files copied to '<root>', 6 post-processed." in twin.same()
    # No change: Django re-processes the CSS and JS (its patterns' files) every run.
    assert "0 static files copied to '<root>', 6 unmodified, 3 post-processed." in twin.same()
    # A changed image: its new hashed copy, and the CSS and JS again.
    twin.edit("img/bg.png", b"\x89PNG other bytes")
    assert "1 static file copied to '<root>', 5 unmodified, 4 post-processed." in twin.same()
    twin.edit("robots.txt", b"User-agent: corral\n")
    assert "1 static file copied to '<root>', 5 unmodified, 4 post-processed." in twin.same()


def test_no_post_process_and_dry_run_count_as_django(twin: Twin) -> None:
    twin.project.configure(STORAGES=storages(DJANGO_MANIFEST))
    dry = twin.same("--dry-run")
    assert "Pretending to copy" in dry
    assert "6 static files copied to '<root>'." in dry
    assert "6 static files copied to '<root>'." in twin.same("--no-post-process")
    twin.edit("js/app.js", b"console.log('changed');\n")
    assert "1 static file copied to '<root>', 5 unmodified." in twin.same("--no-post-process")


def test_conflicts_are_logged_and_counted_as_django(twin: Twin) -> None:
    second = twin.project.write({"css/app.css": "second", "robots.txt": "second"}, "second")
    third = twin.project.write({"css/app.css": "third"}, "third")
    twin.project.configure(
        STATICFILES_DIRS=[str(twin.project.assets), str(second), str(third)],
        STORAGES=storages(PLAIN),
    )
    for _ in range(2):  # counted again on a run that copies nothing
        printed = twin.same()
        assert "Found another file" in printed or "skipped due to conflict" in printed
    assert twin.run(verbosity=2)[1].count("Found another file with the destination path") == 3


def test_link_counts_as_django(twin: Twin) -> None:
    assert "6 static files symlinked to '<root>'." in twin.same("--link")
    assert "0 static files symlinked to '<root>', 6 unmodified." in twin.same("--link")


def test_an_ignore_pattern_with_a_slash_is_the_one_deliberate_difference(twin: Twin) -> None:
    # docs/django.md, "What differs, on purpose": corral excludes the directory js/drafts,
    # Django matches directories by name only and collects it.
    twin.project.write({"js/drafts/wip.js": "wip", "css/drafts/keep.css": "keep"})
    # A pattern both read the same way: the file's path.
    assert "7 static files copied" in twin.same("-i", "*/drafts/wip.js")
    django, corral = twin.run("-i", "js/drafts")
    assert "1 static file copied to '<root>', 7 unmodified." in django
    assert "0 static files copied to '<root>', 7 unmodified." in corral
    assert (twin.stock_root / "js/drafts/wip.js").is_file()
    assert not (twin.root / "js/drafts").exists()
    assert (twin.root / "css/drafts/keep.css").is_file()
