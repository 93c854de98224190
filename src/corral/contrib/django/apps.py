"""The Django app: ``collectstatic``/``findstatic`` on corral, and its system checks."""

from __future__ import annotations

from django.apps import AppConfig


class CorralConfig(AppConfig):
    name = "corral.contrib.django"
    label = "corral"
    verbose_name = "corral static files"

    def ready(self) -> None:
        from django.core import checks  # noqa: PLC0415

        from corral.contrib.django.checks import check_corral  # noqa: PLC0415

        checks.register(check_corral, checks.Tags.staticfiles)
