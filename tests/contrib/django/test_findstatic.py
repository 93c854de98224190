"""``manage.py findstatic`` with corral: Django's output, plus the published name at -v2."""

from __future__ import annotations

import json

from .conftest import CORRAL_MANIFEST, Project, reset_caches, storages


def test_djangos_output(django_project: Project) -> None:
    django_project.write({"css/app.css": "first"})
    second = django_project.write({"css/app.css": "second"}, "second")
    dirs = [str(django_project.assets), str(second)]
    django_project.configure(STATICFILES_DIRS=dirs)
    first_path = django_project.assets / "css/app.css"

    run = django_project.findstatic("css/app.css")
    assert run.stdout == f"Found 'css/app.css' here:\n  {first_path}\n  {second / 'css/app.css'}\n"
    assert django_project.findstatic("css/app.css", "--first").stdout == (
        f"Found 'css/app.css' here:\n  {first_path}\n"
    )
    assert django_project.findstatic("css/app.css", "--first", verbosity=0).stdout == (
        f"{first_path}\n"
    )
    run = django_project.findstatic("css/app.css", verbosity=2)
    assert run.stdout == (
        f"Found 'css/app.css' here:\n  {first_path}\n  {second / 'css/app.css'}\n"
        f"Looking in the following locations:\n  {dirs[0]}\n  {dirs[1]}\n"
    )
    missing = django_project.findstatic("nope.css")
    assert (missing.stdout, missing.stderr) == ("", "No matching file found for 'nope.css'.\n")


def test_verbosity_2_names_the_published_hashed_file(django_project: Project) -> None:
    django_project.write({"css/app.css": "body { color: red; }\n"})
    django_project.configure(STORAGES=storages(CORRAL_MANIFEST))
    before = django_project.findstatic("css/app.css", verbosity=2)
    assert "Published as" not in before.stdout  # nothing published yet

    django_project.collectstatic()
    manifest = json.loads((django_project.root / "staticfiles.json").read_text())
    hashed = manifest["paths"]["css/app.css"]
    assert hashed.startswith("css/app.") and hashed != "css/app.css"
    expected = f"Published as '{hashed}'\n"

    # In the process that collected, and in a new one (a fresh storage reads the manifest).
    assert django_project.findstatic("css/app.css", verbosity=2).stdout.endswith(expected)
    reset_caches()
    assert django_project.findstatic("css/app.css", verbosity=2).stdout.endswith(expected)
    # Only at -v2, as the locations are.
    assert "Published as" not in django_project.findstatic("css/app.css").stdout
