"""The site's static files app: Django's, with the site's ignore patterns.

Django reads ``ignore_patterns`` from the ``staticfiles`` app's configuration; this
subclass adds the ones the ``[tool.corral]`` table of ``pyproject.toml`` lists, so that
``manage.py collectstatic`` and ``corral collect`` publish the same files (the SCSS source
and the scripts in ``js/drafts`` stay out of ``STATIC_ROOT``).
"""

from typing import ClassVar

from django.contrib.staticfiles.apps import StaticFilesConfig


class SiteStaticFilesConfig(StaticFilesConfig):
    ignore_patterns: ClassVar[list[str]] = [
        *StaticFilesConfig.ignore_patterns,
        "*.scss",
        "js/drafts",
    ]
