"""Run Django's ManifestStaticFilesStorage over trees, in a process of its own.

Usage: ``python django_driver.py < spec.json > outcome.json`` where the spec is
``{"cases": {name: {"src": dir, "root": dir, "modules": bool, "passes": int}}}``. For each
case the files of ``src`` are copied into ``root`` (what ``collectstatic``
does before post-processing) and ``post_process`` runs exactly as
``collectstatic`` drives it; the outcome per case is ``{"error": str | null}``
(the first exception post-processing yielded, as collectstatic would raise it).
``root`` then holds Django's hashed files and ``staticfiles.json``.

Settings are configured once, minimally: ``STATIC_URL = "/static/"``,
``DEBUG = False``. Not imported by the test-suite: it runs as a script.
"""

from __future__ import annotations

import json
import os
import shutil
import sys

import django
from django.conf import settings
from django.contrib.staticfiles.storage import ManifestStaticFilesStorage
from django.core.files.storage import FileSystemStorage


def main() -> None:
    spec = json.load(sys.stdin)
    settings.configure(
        DEBUG=False,
        STATIC_URL="/static/",
        INSTALLED_APPS=["django.contrib.staticfiles"],
        USE_TZ=True,
    )
    django.setup()
    outcome = {name: run_case(**case) for name, case in spec["cases"].items()}
    json.dump(outcome, sys.stdout)


def run_case(src: str, root: str, modules: bool, passes: int = 5) -> dict[str, str | None]:
    class Storage(ManifestStaticFilesStorage):
        support_js_module_import_aggregation = modules
        max_post_process_passes = passes

    names = []
    for dirpath, _, filenames in os.walk(src):
        for filename in filenames:
            path = os.path.join(dirpath, filename)
            names.append(os.path.relpath(path, src).replace(os.sep, "/"))
    for name in names:
        os.makedirs(os.path.dirname(os.path.join(root, name)), exist_ok=True)
        shutil.copyfile(os.path.join(src, name), os.path.join(root, name))
    source = FileSystemStorage(location=src)
    storage = Storage(location=root, base_url="/static/")
    paths = {name: (source, name) for name in sorted(names)}
    try:
        for _original, _processed_path, processed in storage.post_process(paths):
            if isinstance(processed, Exception):
                return {"error": f"{type(processed).__name__}: {processed}"}
    except Exception as exc:  # what collectstatic would let through
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {"error": None}


if __name__ == "__main__":
    main()
