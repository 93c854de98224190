"""System checks for corral's own settings (ids ``corral.E0xx`` / ``corral.W0xx``).

Registered by the app's ``ready()`` under the ``staticfiles`` tag, so
``collectstatic`` runs them first.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core import checks

__all__ = ["check_corral"]


def check_corral(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    messages: list[checks.CheckMessage] = []
    # By the app registry, not by INSTALLED_APPS' strings: staticfiles may be installed
    # through a project's own StaticFilesConfig subclass (Django's way to change its
    # ignore_patterns), and the first app's command is the one manage.py runs.
    names = [config.name for config in apps.get_app_configs()]
    ours = _index(names, "corral.contrib.django")
    theirs = _index(names, "django.contrib.staticfiles")
    if ours is not None and theirs is not None and ours > theirs:
        messages.append(
            checks.Error(
                "'corral.contrib.django' is listed after 'django.contrib.staticfiles' in "
                "INSTALLED_APPS, so Django's collectstatic runs instead of corral's.",
                hint="Move 'corral.contrib.django' above 'django.contrib.staticfiles'.",
                id="corral.E001",
            )
        )
    messages.extend(_storage_messages())
    return messages


def _storage_messages() -> list[checks.CheckMessage]:
    from django.contrib.staticfiles.storage import staticfiles_storage  # noqa: PLC0415

    from corral.contrib.django.storage import storage_kind  # noqa: PLC0415
    from corral.errors import ConfigError  # noqa: PLC0415

    try:
        kind, reason = storage_kind(staticfiles_storage)
    except ConfigError as exc:  # CorralStorage validates its OPTIONS when it is built
        return [
            checks.Error(
                f"{exc.message} (in {exc.file}, key {exc.key!r})",
                hint=exc.hint or "Fix the option in STORAGES['staticfiles']['OPTIONS'].",
                id="corral.E002",
            )
        ]
    if kind == "django":
        return [
            checks.Warning(
                f"collectstatic can't run on corral for this storage: {reason}; Django's own "
                "collection runs instead (no releases, atomic publish or incremental runs).",
                hint="Use corral.contrib.django.storage.ManifestStaticFilesStorage or "
                "CorralStorage, or silence this with SILENCED_SYSTEM_CHECKS = ['corral.W001'].",
                id="corral.W001",
            )
        ]
    return []


def _index(names: list[str], name: str) -> int | None:
    return names.index(name) if name in names else None
