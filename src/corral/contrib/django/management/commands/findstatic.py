"""``manage.py findstatic`` with corral: Django's output, plus the published name.

At ``-v 2``, after a fingerprinting run, it also says which hashed name the path
is published under (from the storage's manifest).
"""

from __future__ import annotations

from typing import Any

from django.contrib.staticfiles.management.commands import findstatic as _django

__all__ = ["Command"]


class Command(_django.Command):
    def handle_label(self, path: str, **options: Any) -> Any:
        result = super().handle_label(path, **options)
        if options["verbosity"] >= 2 and result:
            from django.contrib.staticfiles.storage import staticfiles_storage  # noqa: PLC0415

            hashed = getattr(staticfiles_storage, "hashed_files", {}).get(path)
            if hashed:
                result = f"{result}\nPublished as '{hashed}'"
        return result
