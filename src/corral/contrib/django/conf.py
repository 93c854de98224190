"""Django's settings as corral's configuration — the only module that reads them.

``STATIC_ROOT``/``STATIC_URL`` come through the ``staticfiles`` storage (its
``location`` and ``base_url``); the sources are what ``STATICFILES_FINDERS`` would
find, in the same order: ``STATICFILES_DIRS`` (with their prefixes), the apps'
``static/`` directories in ``INSTALLED_APPS`` order, the default storage, and any
other finder through the finder API. What the run does follows the storage class
(see :func:`storage_kind`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.files.storage import FileSystemStorage

from corral.config import DEFAULT_KEEP, Config, DirectorySource, ListedSource, SourceSpec
from corral.contrib.django.storage import Kind, class_name, storage_kind
from corral.errors import ConfigError

__all__ = ["Kind", "Setup", "configure", "sources", "storage_kind"]

ORIGIN = "Django settings"
_OPTIONS_PLACE = 'STORAGES["staticfiles"]["OPTIONS"]'


@dataclass(frozen=True, slots=True)
class Setup:
    """What one ``collectstatic`` run does: the kind, and corral's configuration."""

    kind: Kind
    config: Config | None  # None when Django's own collection runs
    reason: str = ""  # why Django's own collection runs (kind "django")


def configure(
    storage: Any,
    *,
    link: bool,
    post_process: bool,
    ignore_patterns: list[str],
    keep: int | None = None,
) -> Setup:
    """Turn the settings and the ``collectstatic`` options into a :class:`Setup`."""
    kind, reason = storage_kind(storage)
    if kind == "django":
        return Setup(kind, None, reason)
    storage.path("")  # ImproperlyConfigured when STATIC_ROOT is not set, as in Django
    hashing = kind in ("manifest", "corral") and post_process
    options: dict[str, Any] = {}
    if kind == "corral":
        options = dict(storage.corral_options)
    elif kind == "manifest":
        options = {"modules": bool(storage.support_js_module_import_aggregation)}
    if keep is None:
        keep = options.pop("keep", DEFAULT_KEEP)
    else:
        options.pop("keep", None)
    if kind != "corral" or not post_process:
        options["compress"] = False  # Django's storages: Django's files, nothing more
    compress = options.pop("compress", True)
    if not post_process and kind != "plain":
        # Django leaves the last manifest and hashed files alone: so does corral.
        keep = None
    return Setup(
        kind,
        Config(
            root=Path(os.path.abspath(storage.location)),
            sources=sources(ignore_patterns),
            url=_url(storage),
            ignore=tuple(ignore_patterns),
            default_ignore=False,  # Django's defaults arrive through ignore_patterns
            keep=keep,
            hash=hashing,
            compress=compress is not False,
            compression=dict(compress) if isinstance(compress, dict) else {},
            manifest_name=getattr(storage, "manifest_name", "staticfiles.json"),
            link=link,
            file_mode=storage.file_permissions_mode,
            dir_mode=storage.directory_permissions_mode,
            project_root=_project_root(),
            origin=ORIGIN,
            root_setting="STATIC_ROOT (the staticfiles storage's location)",
            settings=_OPTIONS_PLACE
            if kind == "corral"
            else "OPTIONS of corral.contrib.django.storage.CorralStorage, which "
            'STORAGES["staticfiles"] would need to use',
            **options,
        ),
    )


def sources(ignore_patterns: list[str]) -> tuple[SourceSpec, ...]:
    """The finders' sources in priority order, as corral sources."""
    found: list[SourceSpec] = []
    for finder in finders.get_finders():
        found.extend(_finder_sources(finder, ignore_patterns))
    return tuple(found)


def _finder_sources(finder: Any, ignore_patterns: list[str]) -> list[SourceSpec]:
    kind = type(finder)
    if kind is finders.FileSystemFinder:
        return [
            DirectorySource(Path(os.path.abspath(root)), prefix.strip("/"))
            for prefix, root in finder.locations
            if os.path.isdir(root)  # Django's check W004 reports a missing one
        ]
    if kind is finders.AppDirectoriesFinder:
        return [
            DirectorySource(Path(finder.storages[app].location))
            for app in finder.apps
            if app in finder.storages
        ]
    if kind is finders.DefaultStorageFinder and isinstance(finder.storage, FileSystemStorage):
        location = finder.storage.location
        return [DirectorySource(Path(location))] if os.path.isdir(location) else []
    return [_listed(finder, ignore_patterns)]


def _listed(finder: Any, ignore_patterns: list[str]) -> ListedSource:
    """Any other finder, through the finder API: the files it lists, where they are."""
    label = f"finder {class_name(finder)}"
    files: list[tuple[str, Path]] = []
    for path, source_storage in finder.list(ignore_patterns):
        prefix = getattr(source_storage, "prefix", None) or ""
        logical = f"{prefix.strip('/')}/{path}" if prefix else path
        try:
            where = source_storage.path(path)
        except NotImplementedError:
            raise ConfigError(
                f"{label} lists {logical!r} from {class_name(source_storage)}, which has no "
                "local path, so corral can't read it",
                hint="serve that finder's files from a local directory (STATICFILES_DIRS), "
                "or remove the finder from STATICFILES_FINDERS",
                file=ORIGIN,
                key="STATICFILES_FINDERS",
            ) from None
        files.append((logical.replace(os.sep, "/"), Path(where)))
    return ListedSource(label, tuple(files))


def _url(storage: Any) -> str:
    url = storage.base_url or settings.STATIC_URL or "/static/"
    return url if url.startswith("/") or "://" in url else "/" + url


def _project_root() -> Path:
    base = getattr(settings, "BASE_DIR", None)
    return Path(base) if base else Path.cwd()
