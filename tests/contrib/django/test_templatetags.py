"""``{% load corral %}{% static_integrity %}``: the SRI of the file ``{% static %}`` serves."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from django.template import Context, Template

from .conftest import CORRAL_MANIFEST, CORRAL_STORAGE, DJANGO_MANIFEST, PLAIN, Project, storages

TAG = Template("{% load corral %}{% static_integrity 'js/app.js' %}")
STATIC = Template("{% load static %}{% static 'js/app.js' %}")


def sri(path: Path) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()


def sha512(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


@pytest.mark.parametrize("backend", [CORRAL_MANIFEST, CORRAL_STORAGE, DJANGO_MANIFEST])
def test_integrity_of_the_hashed_file_then_of_the_source_with_debug(
    django_project: Project, backend: str
) -> None:
    source = django_project.write({"js/app.js": "console.log('published');\n"}) / "js/app.js"
    django_project.configure(STORAGES=storages(backend))
    django_project.collectstatic()
    source.write_text("console.log('edited since');\n")  # the dev server would serve this

    url = STATIC.render(Context())
    published = django_project.root / url.removeprefix("/static/")
    assert published.name != "app.js"  # the hashed name
    assert published.read_text() == "console.log('published');\n"
    assert TAG.render(Context()) == sri(published)

    django_project.configure(DEBUG=True)
    assert STATIC.render(Context()) == "/static/js/app.js"
    assert TAG.render(Context()) == sri(source)
    assert sri(source) != sri(published)


def test_integrity_follows_the_corral_storage_option(django_project: Project) -> None:
    source = django_project.write({"js/app.js": "console.log('published');\n"}) / "js/app.js"
    django_project.configure(STORAGES=storages(CORRAL_STORAGE, integrity="sha512"))
    django_project.collectstatic()
    published = django_project.root / STATIC.render(Context()).removeprefix("/static/")
    assert TAG.render(Context()) == sha512(published)
    django_project.configure(DEBUG=True)  # from the source file, with the same hash
    assert TAG.render(Context()) == sha512(source)


def test_integrity_with_a_plain_storage_is_of_the_collected_file(
    django_project: Project,
) -> None:
    source = django_project.write({"js/app.js": "console.log('published');\n"}) / "js/app.js"
    django_project.configure(STORAGES=storages(PLAIN))
    django_project.collectstatic()
    source.write_text("console.log('edited since');\n")
    assert TAG.render(Context()) == sri(django_project.root / "js/app.js")


def test_integrity_of_a_file_that_is_nowhere_is_empty(django_project: Project) -> None:
    django_project.configure(DEBUG=True)
    assert TAG.render(Context()) == ""


def test_integrity_after_switching_to_a_plain_storage(django_project: Project) -> None:
    """corral's manifest of the last fingerprinting run stays a while; it is not the truth."""
    source = django_project.write({"js/app.js": "console.log(1);\n"}) / "js/app.js"
    django_project.configure(STORAGES=storages(CORRAL_STORAGE))
    django_project.collectstatic()
    source.write_text("console.log(2);\n")
    django_project.configure(STORAGES=storages(PLAIN))
    django_project.collectstatic()
    assert (django_project.root / "corral-manifest.json").is_file()  # still there
    assert STATIC.render(Context()) == "/static/js/app.js"
    assert TAG.render(Context()) == sri(django_project.root / "js/app.js")
    assert TAG.render(Context()) == sri(source)
