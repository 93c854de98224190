"""Drop-in storage classes: Django's public API, post-processing done by corral.

* :class:`StaticFilesStorage` — Django's, unchanged (``collectstatic`` copies).
* :class:`ManifestStaticFilesStorage` — Django's attributes and methods
  (``manifest_name``, ``manifest_strict``, ``url()``, ``stored_name()``, …); the
  hashed names and rewritten files are made by corral's fingerprint engine, and
  ``staticfiles.json`` is byte-compatible, so ``{% static %}`` works unchanged.
* :class:`CorralStorage` — the same, plus corral's options in
  ``STORAGES["staticfiles"]["OPTIONS"]`` (``keep``, ``missing``,
  ``accept_missing``, ``passthrough``, ``modules``, ``integrity``, ``compress``) and
  :meth:`CorralStorage.integrity` for Subresource Integrity.

``manage.py collectstatic`` (with ``corral.contrib.django`` installed) never calls
``post_process``: corral collects, fingerprints and publishes in one atomic run.
``post_process`` is here for code that calls it directly (Django's own command).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from django.contrib.staticfiles import storage as _django
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage

from corral.contrib.lookups import bare, cached_resolver, file_integrity
from corral.errors import BuildError, ConfigError
from corral.manifest import CORRAL_MANIFEST

__all__ = [
    "CorralStorage",
    "Kind",
    "ManifestStaticFilesStorage",
    "StaticFilesStorage",
    "storage_kind",
]

_OPTIONS = 'STORAGES["staticfiles"]["OPTIONS"]'


class StaticFilesStorage(_django.StaticFilesStorage):
    """Django's ``StaticFilesStorage``; ``collectstatic`` copies with corral."""


class ManifestStaticFilesStorage(_django.ManifestStaticFilesStorage):
    """Django's ``ManifestStaticFilesStorage`` with corral's fingerprinting."""

    def post_process(
        self, paths: dict[str, Any], dry_run: bool = False, **options: Any
    ) -> Iterator[tuple[str, str | None, Any]]:
        """Fingerprint files already in this storage; yield ``(name, hashed, processed)``.

        Missing references and undecodable text are yielded once, as one
        :class:`~corral.errors.BuildError` listing every problem, before anything is
        written.
        """
        if dry_run:
            return
        if storage_kind(self)[0] == "django":  # a subclass customised Django's algorithm
            yield from super().post_process(paths, dry_run, **options)
            return
        yield from _fingerprint_stored(self, list(paths), self._fingerprint_options())

    def _fingerprint_options(self) -> dict[str, Any]:
        return {"modules": bool(self.support_js_module_import_aggregation)}

    @property
    def integrity_algorithm(self) -> str:
        """The hash of the SRI values corral writes for this storage (``"sha256"``)."""
        return "sha256"

    def integrity(self, name: str) -> str:
        """The SRI value (``sha256-…``) of ``name``'s published file, from corral's manifest.

        Empty when the manifest does not list it and ``manifest_strict`` is off.
        """
        resolver = cached_resolver(self.path(CORRAL_MANIFEST), strict=self.manifest_strict)
        if resolver is None:
            return file_integrity(self.path(self.stored_name(name)), self.integrity_algorithm)
        return str(resolver.integrity(bare(name)))


class CorralStorage(ManifestStaticFilesStorage):
    """corral's whole pipeline, configured through ``STORAGES["staticfiles"]["OPTIONS"]``.

    ``keep`` (releases kept before the current one, default 2), ``missing`` (policy
    per reference kind), ``accept_missing`` (globs), ``passthrough`` (globs of
    already-hashed names), ``modules`` (rewrite ES module imports, default on),
    ``integrity`` (the hash of the SRI values: ``"sha256"``, the default,
    ``"sha384"`` or ``"sha512"``), ``compress`` (``True``/``False`` or a table of
    compression options, default on), ``cache_dir`` (the shared compression cache;
    ``$CORRAL_CACHE_DIR`` wins over it, see docs/deploy-cache.md).
    """

    corral_option_names = (
        "keep",
        "missing",
        "accept_missing",
        "passthrough",
        "modules",
        "integrity",
        "compress",
        "state_dir",
        "cache_dir",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        options = {k: kwargs.pop(k) for k in self.corral_option_names if k in kwargs}
        super().__init__(*args, **kwargs)
        self.corral_options = _validated(options)

    def _fingerprint_options(self) -> dict[str, Any]:
        keys = ("missing", "accept_missing", "passthrough", "modules", "integrity")
        return {k: self.corral_options[k] for k in keys if k in self.corral_options}

    @property
    def integrity_algorithm(self) -> str:
        return str(self.corral_options.get("integrity", "sha256"))


# --- how collectstatic serves a storage ------------------------------------------------------

#: ``plain``: copy; ``manifest``: copy and fingerprint with Django's names and
#: ``staticfiles.json``; ``corral``: the whole pipeline (CorralStorage); ``django``:
#: a storage corral can't stand in for, so Django's own collection runs.
Kind = Literal["plain", "manifest", "corral", "django"]

#: What makes ManifestStaticFilesStorage name and rewrite files. A subclass that
#: overrides any of these asked for Django's algorithm with changes, which only
#: Django's own post-processing can honour.
_HASHING_HOOKS = (
    "file_hash",
    "hashed_name",
    "_post_process",
    "post_process",
    "url_converter",
    "_stored_name",
    "clean_name",
    "hash_key",
)


def storage_kind(storage: Any) -> tuple[Kind, str]:
    """Decide how a storage is served, and (for ``django``) why."""
    if not isinstance(storage, FileSystemStorage):
        return "django", f"{class_name(storage)} is not a local file system storage"
    if isinstance(storage, CorralStorage):
        return "corral", ""
    if isinstance(storage, _django.HashedFilesMixin):
        if not isinstance(storage, _django.ManifestFilesMixin):
            return "django", f"{class_name(storage)} keeps no manifest"
        cls = storage.__class__  # not type(): the configured storage is a lazy proxy
        overridden = _overridden_hooks(cls)
        if overridden:
            return "django", f"{class_name(storage)} overrides {', '.join(overridden)}"
        if cls.patterns != _django.HashedFilesMixin.patterns:
            return "django", f"{class_name(storage)} adds its own rewriting patterns"
        return "manifest", ""
    if hasattr(storage, "post_process"):
        return "django", f"{class_name(storage)} post-processes files its own way"
    return "plain", ""


def _overridden_hooks(cls: type) -> list[str]:
    # Ours, and Django's (ours subclass Django's: their MROs hold every stock class).
    stock = set(CorralStorage.__mro__) | set(ManifestStaticFilesStorage.__mro__)
    overridden: list[str] = []
    for name in _HASHING_HOOKS:
        for klass in cls.__mro__:
            if name in vars(klass):
                if klass not in stock:
                    overridden.append(name)
                break
    return overridden


def class_name(obj: Any) -> str:
    kind = obj.__class__
    return f"{kind.__module__}.{kind.__qualname__}"


def _validated(options: dict[str, Any]) -> dict[str, Any]:
    """Check CorralStorage's options now, so a typo fails at start-up, not at deploy."""
    from corral.config import Config  # noqa: PLC0415

    keep = options.get("keep", 2)
    if keep is not None and (isinstance(keep, bool) or not isinstance(keep, int) or keep < 0):
        raise ConfigError(
            f"'keep' must be a whole number of releases, 0 or more; found {keep!r}",
            file=_OPTIONS,
            key="keep",
        )
    compress = options.get("compress", True)
    if not isinstance(compress, bool | Mapping):
        raise ConfigError(
            f"'compress' must be True, False or a dict of options; found {compress!r}",
            file=_OPTIONS,
            key="compress",
        )
    if not isinstance(options.get("missing", {}), Mapping):
        raise ConfigError(
            f"'missing' must be a dict of reference kind to policy; found {options['missing']!r}",
            hint='e.g. "missing": {"sourcemap": "ignore", "url": "warn"}',
            file=_OPTIONS,
            key="missing",
        )
    state_dir = options.get("state_dir")
    if state_dir is not None and not isinstance(state_dir, str | os.PathLike):
        raise ConfigError(
            f"'state_dir' must be a path; found {state_dir!r}",
            hint="where corral keeps its private state, outside STATIC_ROOT",
            file=_OPTIONS,
            key="state_dir",
        )
    probe = Config(
        root=Path("/"),  # only the options are checked
        missing=options.get("missing", {}),
        accept_missing=options.get("accept_missing", ()),
        passthrough=options.get("passthrough"),
        modules=options.get("modules", True),
        integrity=options.get("integrity", "sha256"),
        compression=dict(compress) if isinstance(compress, Mapping) else {},
        origin=_OPTIONS,
    )
    checked = probe.fingerprint_options()  # raises ConfigError naming the bad key
    probe.compression_options()
    # The Config gets them as it types them (tuples), not as they were written (lists).
    normalized = dict(options)
    for key in ("accept_missing", "passthrough"):
        if options.get(key) is not None:
            normalized[key] = getattr(checked, key)
    for key in ("missing", "compress"):
        if isinstance(options.get(key), Mapping):
            normalized[key] = dict(options[key])
    normalized.pop("state_dir", None)
    if state_dir is not None and not os.environ.get("CORRAL_STATE_DIR"):  # as cache_dir
        normalized["state_dir"] = Path(os.path.abspath(os.fspath(state_dir)))
    cache_dir = options.get("cache_dir")
    if cache_dir is not None and not isinstance(cache_dir, str | os.PathLike):
        raise ConfigError(
            f"'cache_dir' must be a path; found {cache_dir!r}",
            hint="the shared compression cache, e.g. a directory a CI cache keeps",
            file=_OPTIONS,
            key="cache_dir",
        )
    normalized.pop("cache_dir", None)
    if cache_dir is not None and not os.environ.get("CORRAL_CACHE_DIR"):
        # As cache_dir in [tool.corral]: $CORRAL_CACHE_DIR, set by the build, wins.
        normalized["cache_dir"] = Path(os.path.abspath(os.fspath(cache_dir)))
    return normalized


def _fingerprint_stored(
    storage: Any, names: list[str], extra: dict[str, Any]
) -> Iterator[tuple[str, str | None, Any]]:
    from corral.fingerprint import FileFacts, FingerprintOptions, fingerprint  # noqa: PLC0415

    contents: dict[str, bytes] = {}
    for name in names:
        with storage.open(name) as fh:
            contents[name] = fh.read()
    files = {
        name: FileFacts(name, hashlib.sha256(data).hexdigest(), len(data))
        for name, data in contents.items()
    }
    result = fingerprint(
        files, contents.__getitem__, {}, FingerprintOptions(url=storage.base_url, **extra)
    )
    if result.problems:
        first = result.problems[0].logical_path or names[0]
        yield first, None, BuildError(result.problems)
        return
    # Django's order, so that staticfiles.json is the same bytes: deepest paths first, in
    # the order collectstatic found them (its post-processing walks them that way).
    for name in sorted(names, key=lambda n: len(n.split(os.sep)), reverse=True):
        fp = result.fingerprints[name]
        if fp.hashed != name:
            data = result.contents.get(name, contents[name])
            if storage.exists(fp.hashed):
                storage.delete(fp.hashed)
            storage._save(fp.hashed, ContentFile(data))
        storage.hashed_files[storage.hash_key(storage.clean_name(name))] = fp.hashed
    storage.save_manifest()
    for name in names:
        yield name, result.fingerprints[name].hashed, True
