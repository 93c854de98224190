"""The Django app: registers corral's system checks."""

from __future__ import annotations

from django.apps import AppConfig


class CorralConfig(AppConfig):
    name = "corral.contrib.django"
    label = "corral"
    verbose_name = "corral static files"
