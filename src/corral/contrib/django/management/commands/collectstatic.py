"""``manage.py collectstatic`` on corral (skeleton, being built)."""

from __future__ import annotations

from django.contrib.staticfiles.management.commands import collectstatic as _django


class Command(_django.Command):
    pass
