"""The Django app: ``collectstatic``/``findstatic`` on corral, and its system checks."""

from __future__ import annotations

from typing import Any

import django
from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured

#: The oldest Django release corral supports (Django 4.2 reached its end of life in April
#: 2026; docs/decisions.md). The ``django`` extra asks for it: ``django>=5.2,<7``.
OLDEST_DJANGO = (5, 2)


def check_django_version(version: tuple[Any, ...] = django.VERSION) -> None:
    """Refuse to start on a Django older than :data:`OLDEST_DJANGO`, saying what to do."""
    if (int(version[0]), int(version[1])) < OLDEST_DJANGO:
        have = ".".join(str(part) for part in version[:3])
        want = ".".join(str(part) for part in OLDEST_DJANGO)
        raise ImproperlyConfigured(
            f"corral.contrib.django needs Django {want} or later; this is Django {have}. "
            f"Upgrade it (pip install 'django>={want},<7', or pip install 'corral[django]'), "
            'or remove "corral.contrib.django" from INSTALLED_APPS.'
        )


class CorralConfig(AppConfig):
    name = "corral.contrib.django"
    label = "corral"
    verbose_name = "corral static files"

    def ready(self) -> None:
        from django.core import checks  # noqa: PLC0415

        from corral.contrib.django.checks import check_corral  # noqa: PLC0415

        check_django_version()
        checks.register(check_corral, checks.Tags.staticfiles)
