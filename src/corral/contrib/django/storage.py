"""Drop-in storage classes (skeleton, being built)."""

from __future__ import annotations

from django.contrib.staticfiles import storage as _django


class StaticFilesStorage(_django.StaticFilesStorage):
    pass


class ManifestStaticFilesStorage(_django.ManifestStaticFilesStorage):
    pass
