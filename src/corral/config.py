"""One frozen :class:`Config`, read from ``[tool.corral]``, keyword arguments or flags.

Configuration is validated once, here, loudly: an unknown key is an error with a
"did you mean" hint, a wrong type names the key and the value found. Paths in a
configuration file are relative to the file's directory (the project root).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from corral.configcheck import check_config, check_integrity, check_jobs, check_url
from corral.errors import ConfigError
from corral.tomlkeys import did_you_mean, key_line, read_toml, table_from_file

if TYPE_CHECKING:
    from corral.compress import CompressionOptions
    from corral.fingerprint import FingerprintOptions
    from corral.targets import S3Options

__all__ = [
    "Config",
    "DirectorySource",
    "ListedSource",
    "PackageSource",
    "SourceSpec",
    "configured_cache_dir",
    "find_config_file",
    "load_config",
    "parse_source",
]

T = TypeVar("T")

DEFAULT_URL = "/static/"
DEFAULT_KEEP = 2
#: Django's default ignore patterns (``collectstatic --no-default-ignore`` turns them off).
DEFAULT_IGNORE: tuple[str, ...] = ("CVS", ".*", "*~")


@dataclass(frozen=True, slots=True)
class DirectorySource:
    """A directory whose files are collected under ``prefix``."""

    path: Path
    prefix: str = ""
    #: Where this source was configured, for hints ("" when the Config's own origin).
    origin: str = field(default="", compare=False)

    def describe(self) -> str:
        return f"{self.prefix}={self.path}" if self.prefix else str(self.path)


@dataclass(frozen=True, slots=True)
class PackageSource:
    """An installed Python package's ``static/`` directory (or ``subdir``)."""

    package: str
    prefix: str = ""
    subdir: str = "static"
    #: Where this source was configured, for hints ("" when the Config's own origin).
    origin: str = field(default="", compare=False)

    def describe(self) -> str:
        name = f"package {self.package}" + (f" ({self.subdir}/)" if self.subdir != "static" else "")
        return f"{self.prefix}={name}" if self.prefix else name


@dataclass(frozen=True, slots=True)
class ListedSource:
    """An explicit list of files: ``(logical path, file path)`` pairs, in order.

    For integrations whose sources are not directories (a Django finder that lists
    its files through the finder API); ``label`` names it in reports.
    """

    label: str
    files: tuple[tuple[str, Path], ...]
    prefix: str = ""

    def describe(self) -> str:
        return self.label


SourceSpec = DirectorySource | PackageSource | ListedSource


@dataclass(frozen=True, slots=True)
class Config:
    """Everything a run needs to know, validated.

    ``sources`` are in priority order: on a duplicate logical path the first wins.
    ``keep`` is how many releases before the current one a collect keeps when it
    prunes (``None``: never prune automatically). ``hash`` turns fingerprinting
    (content-hashed copies, rewritten references, manifests) on; ``modules``,
    ``missing``, ``accept_missing``, ``passthrough`` and ``integrity`` tune it (see
    :class:`corral.fingerprint.FingerprintOptions`). ``manifest_name`` is where the
    Django-format manifest goes; ``link`` publishes each original as a symbolic link
    to its source file instead of a copy (hashed copies and variants stay files).
    ``file_mode``/``dir_mode`` set exact permissions on published files and the
    directories corral creates (default: ``0o644``/``0o777`` less the umask).
    """

    root: Path
    sources: tuple[SourceSpec, ...] = ()
    url: str = DEFAULT_URL
    ignore: tuple[str, ...] = ()
    default_ignore: bool = True
    strict: bool = False
    keep: int | None = DEFAULT_KEEP
    hash: bool = True
    modules: bool = True
    missing: Mapping[str, str] = field(default_factory=dict)
    accept_missing: tuple[str, ...] = ()
    passthrough: tuple[str, ...] | None = None
    integrity: str = "sha256"
    compress: bool = True
    compress_after: bool = False  # compress = "after": the variants in a follow-up release
    compression: Mapping[str, Any] = field(default_factory=dict)
    #: The shared compression cache: ``cache=False`` compresses without one;
    #: ``cache_dir`` None means ``$CORRAL_CACHE_DIR`` or the user cache directory
    #: (see :mod:`corral.compress.location`); ``cache_max_size`` (bytes) prunes it,
    #: least recently used first, after a run that added to it.
    cache: bool = True
    cache_dir: Path | None = None
    cache_max_size: int | None = None
    jobs: int | None = None  # compression threads (None: the CPUs this process may use)
    manifest_name: str = "staticfiles.json"
    link: bool = False
    file_mode: int | None = None
    dir_mode: int | None = None
    #: Where corral keeps its private state (``None``: ``$CORRAL_STATE_DIR``, else a
    #: sibling of the root, ``.<root name>.corral``; see :func:`corral.state.state_location`).
    state_dir: Path | None = None
    #: Object storage to publish to (``s3://BUCKET/PREFIX``; root: a private build directory).
    target: str | None = None
    endpoint_url: str | None = None
    s3: Mapping[str, Any] = field(default_factory=dict)
    #: Where the user sets these options, as hints should name it.
    settings: str = "[tool.corral]"
    #: What sets ``root``, as hints should name it.
    root_setting: str = "'root' (--root)"
    project_root: Path = field(default_factory=Path.cwd)
    origin: str = "arguments"

    def __post_init__(self) -> None:
        check_config(self)  # a wrong value fails here, before a run writes anything

    @property
    def ignore_patterns(self) -> tuple[str, ...]:
        """The effective ignore globs: Django's defaults (unless disabled) plus the user's."""
        return (DEFAULT_IGNORE if self.default_ignore else ()) + self.ignore

    def fingerprint_options(self) -> FingerprintOptions:
        """The fingerprinting options (validated: a bad value raises ConfigError)."""
        from corral.fingerprint import FingerprintOptions  # noqa: PLC0415 - heavy, used by runs only

        extra: dict[str, Any] = {}
        if self.passthrough is not None:
            extra["passthrough"] = self.passthrough
        if not isinstance(self.missing, Mapping):
            raise ConfigError(
                f"'missing' must be a table of reference kind to policy; found {self.missing!r}",
                hint='e.g. missing = { sourcemap = "ignore", url = "warn" }',
                file=self.origin,
                key="missing",
            )
        try:
            return FingerprintOptions(
                url=self.url,
                modules=self.modules,
                missing=dict(self.missing),  # type: ignore[arg-type]  # validated there
                accept_missing=self.accept_missing,
                integrity=self.integrity,
                settings=self.settings,
                **extra,
            )
        except ConfigError as exc:
            raise ConfigError(exc.message, hint=exc.hint, file=self.origin, key=exc.key) from None

    def compression_options(self) -> CompressionOptions:
        """The compression options from the ``compress`` table (validated)."""
        from corral.compress import CompressionOptions  # noqa: PLC0415 - used by runs only

        known = [f.name for f in fields(CompressionOptions)]
        table = dict(self.compression)
        for key in table:
            if key not in known:
                guess = did_you_mean(key, known)
                raise ConfigError(
                    f"unknown key {key!r} in the 'compress' table",
                    hint=f"did you mean {guess[0]!r}?" if guess else f"known: {', '.join(known)}",
                    file=self.origin,
                    key=f"compress.{key}",
                )
        for key in ("min_size", "max_size"):
            if isinstance(table.get(key), str):  # "64M", as cache_max_size is written
                from corral.compress.location import parse_size  # noqa: PLC0415

                try:
                    table[key] = parse_size(table[key], key=f"compress.{key}")
                except ConfigError as exc:
                    raise ConfigError(
                        exc.message, hint=exc.hint, file=self.origin, key=exc.key
                    ) from None
        try:
            return CompressionOptions(**table)
        except (ConfigError, TypeError, ValueError) as exc:
            message = exc.message if isinstance(exc, ConfigError) else str(exc)
            raise ConfigError(message, file=self.origin, key="compress") from None

    def compression_cache_dir(self) -> Path | None:
        """The shared cache directory runs compress through, or None (``cache = false``)."""
        if not self.cache:
            return None
        from corral.compress.location import resolve_cache_dir  # noqa: PLC0415

        return resolve_cache_dir(self.cache_dir)

    def s3_options(self) -> S3Options:
        """The ``s3`` table and ``endpoint_url`` of a remote target (validated)."""
        from corral.targets.location import parse_options  # noqa: PLC0415

        return parse_options(self.s3, self.endpoint_url, self.origin)

    def with_overrides(self, **overrides: Any) -> Config:
        """Return a copy with the given fields replaced (same validation)."""
        return replace(self, **overrides)


# --- loading ------------------------------------------------------------------------------

_KEYS = (
    "root",
    "url",
    "sources",
    "ignore",
    "default_ignore",
    "strict",
    "keep",
    "hash",
    "modules",
    "missing",
    "accept_missing",
    "passthrough",
    "integrity",
    "compress",
    "cache",
    "cache_dir",
    "cache_max_size",
    "jobs",
    "state_dir",
    "target",
    "endpoint_url",
    "s3",
)


def find_config_file(start: Path) -> Path | None:
    """Return the nearest ``pyproject.toml`` at or above ``start`` that has ``[tool.corral]``."""
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if not candidate.is_file():
            continue
        tool = read_toml(candidate).get("tool")
        if isinstance(tool, dict) and "corral" in tool:
            return candidate
    return None


def configured_cache_dir(config_file: Path | None = None, cwd: Path | None = None) -> Path | None:
    """``cache_dir`` of ``[tool.corral]`` (absolute), from ``config_file`` or the nearest
    ``pyproject.toml``; None if there is none (``corral cache`` needs no target)."""
    cwd = (cwd or Path.cwd()).resolve()
    found = (cwd / config_file).resolve() if config_file else find_config_file(cwd)
    if found is None:
        return None
    table = table_from_file(found)
    if "cache_dir" not in table:
        return None
    return _path(found.parent, _expect(str, table["cache_dir"], "cache_dir", str(found)))


#: The origin of values given as flags (``corral collect --url …``), as messages name it.
FLAGS = "the command line"
_SOURCE_FLAGS = "the command line (--source/--package)"


def load_config(
    config_file: Path | None = None,
    *,
    cwd: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Build the configuration from a file (found or given) and overrides.

    ``overrides`` use the same keys as ``[tool.corral]``; their paths are relative to
    ``cwd``. ``sources`` in overrides replace the file's sources; ``ignore`` adds to the
    file's patterns. Everything is checked here, nested tables included, so that a
    mistake is reported before anything touches the disk; a :class:`ConfigError` about
    a key of the file carries the line the key is on (``line``).
    """
    cwd = (cwd or Path.cwd()).resolve()
    if config_file is None:
        config_file = find_config_file(cwd)
    if config_file is not None:
        config_file = (cwd / config_file).resolve()
    try:
        return _load(config_file, cwd, dict(overrides or {}))
    except ConfigError as exc:
        if config_file is not None and exc.file == str(config_file) and exc.key and not exc.line:
            exc.line = key_line(config_file, exc.key)
        raise


def _load(config_file: Path | None, cwd: Path, overrides: dict[str, Any]) -> Config:
    table: dict[str, Any] = {}
    base = cwd
    origin = FLAGS
    if config_file is not None:
        table = table_from_file(config_file)
        base = config_file.parent
        origin = str(config_file)
    _check_keys(table, origin)
    _check_keys(overrides, FLAGS)

    remote: dict[str, Any] = {}
    if overrides.get("target", table.get("target")) is not None:  # object storage
        from corral.targets.location import remote_settings  # noqa: PLC0415

        remote = remote_settings({**table, **overrides}, origin)
        overrides["root"] = remote.pop("root")  # a private build directory

    def where(key: str) -> str:  # where the value of ``key`` comes from: flags win
        return FLAGS if key in overrides else origin

    def pick(key: str, default: Any) -> Any:
        return overrides[key] if key in overrides else table.get(key, default)

    root_value = pick("root", None)
    if root_value is None:
        raise ConfigError(
            "no target directory (STATIC_ROOT) is configured",
            hint="set 'root' in [tool.corral] of pyproject.toml, or pass --root DIR",
            file=origin,
            key="root",
        )
    root_base = cwd if "root" in overrides else base
    root = _path(root_base, _expect(str, root_value, "root", where("root")))
    state_dir = None
    if overrides.get("state_dir") is not None:
        state_dir = _path(cwd, _expect(str, overrides["state_dir"], "state_dir", FLAGS))
    elif table.get("state_dir") is not None and not os.environ.get("CORRAL_STATE_DIR"):
        state_dir = _path(base, _expect(str, table["state_dir"], "state_dir", origin))

    if "sources" in overrides:
        sources = _sources(overrides["sources"], cwd, _SOURCE_FLAGS)
    else:
        sources = _sources(table.get("sources", []), base, origin)

    ignore = tuple(_strings(table.get("ignore", []), "ignore", origin)) + tuple(
        _strings(overrides.get("ignore", []), "ignore", FLAGS)
    )

    keep = pick("keep", DEFAULT_KEEP)
    if keep is not None and (isinstance(keep, bool) or not isinstance(keep, int)):
        raise ConfigError(
            f"'keep' must be an integer; found {keep!r}", file=where("keep"), key="keep"
        )
    missing = pick("missing", {})
    if not isinstance(missing, Mapping):
        raise ConfigError(
            f"'missing' must be a table of reference kind to policy; found {missing!r}",
            hint='e.g. missing = { sourcemap = "ignore", url = "warn" }',
            file=where("missing"),
            key="missing",
        )
    passthrough = pick("passthrough", None)
    compress = pick("compress", True)
    if not isinstance(compress, bool | Mapping) and compress != "after":
        raise ConfigError(
            f"'compress' must be true, false, \"after\" or a table of options; found {compress!r}",
            hint='e.g. compress = { brotli_level = 11, zstd = false }, or "after" (publish first)',
            file=where("compress"),
            key="compress",
        )
    url = _expect(str, pick("url", DEFAULT_URL), "url", where("url"))
    check_url(url, where("url"))
    integrity = _expect(str, pick("integrity", "sha256"), "integrity", where("integrity"))
    check_integrity(integrity, where("integrity"))
    config = Config(
        **_cache_settings(table, overrides, base, cwd, origin),
        compress=compress is not False,
        compress_after=compress == "after",
        compression=dict(compress) if isinstance(compress, Mapping) else {},
        root=root,
        hash=_expect(bool, pick("hash", True), "hash", where("hash")),
        modules=_expect(bool, pick("modules", True), "modules", where("modules")),
        missing=dict(missing),
        accept_missing=tuple(
            _strings(pick("accept_missing", []), "accept_missing", where("accept_missing"))
        ),
        passthrough=None
        if passthrough is None
        else tuple(_strings(passthrough, "passthrough", where("passthrough"))),
        integrity=integrity,
        sources=sources,
        url=url,
        ignore=ignore,
        default_ignore=_expect(
            bool, pick("default_ignore", True), "default_ignore", where("default_ignore")
        ),
        strict=_expect(bool, pick("strict", False), "strict", where("strict")),
        keep=keep,
        state_dir=state_dir,
        **remote,
        project_root=base,
        origin=origin,
    )
    # The fingerprint options' values (kinds, policies, patterns), checked before a run
    # creates anything; this loads the engine, so only when they are set.
    if config.missing or config.accept_missing or config.passthrough is not None:
        config.fingerprint_options()
    return config


def _cache_settings(
    table: Mapping[str, Any], overrides: Mapping[str, Any], base: Path, cwd: Path, origin: str
) -> dict[str, Any]:
    """``cache``, ``cache_dir`` (flag, else ``$CORRAL_CACHE_DIR``, else the file's),
    ``cache_max_size`` and ``jobs``."""
    found: dict[str, Any] = {}
    cache = overrides.get("cache", table.get("cache", True))
    found["cache"] = _expect(bool, cache, "cache", origin)
    in_file = table.get("cache_dir")
    if in_file is not None:
        in_file = _path(base, _expect(str, in_file, "cache_dir", origin))
    from corral.compress.location import CACHE_ENV, parse_size  # noqa: PLC0415

    if "cache_dir" in overrides:
        found["cache_dir"] = _path(cwd, _expect(str, overrides["cache_dir"], "cache_dir", origin))
    elif os.environ.get(CACHE_ENV):
        found["cache_dir"] = _path(cwd, os.environ[CACHE_ENV])
    elif in_file is not None:
        found["cache_dir"] = in_file
    limit = overrides.get("cache_max_size", table.get("cache_max_size"))
    if limit is not None:
        try:
            found["cache_max_size"] = parse_size(limit)
        except ConfigError as exc:
            raise ConfigError(exc.message, hint=exc.hint, file=origin, key=exc.key) from None
    jobs = overrides.get("jobs", table.get("jobs"))
    check_jobs(jobs, origin)
    found["jobs"] = jobs
    return found


def parse_source(value: str | Mapping[str, Any], base: Path, origin: str) -> SourceSpec:
    """Turn ``"DIR"``, ``"PREFIX=DIR"`` or ``{dir=…, prefix=…}`` / ``{package=…}`` into a spec."""
    if isinstance(value, str):
        prefix, sep, rest = value.partition("=")
        if not sep:
            prefix, rest = "", value
        if not rest:
            raise ConfigError(
                f"source {value!r} names no directory",
                hint="write a source as DIR or PREFIX=DIR, e.g. 'vendor=node_modules/x/dist'",
                file=origin,
                key="sources",
            )
        return DirectorySource(_path(base, rest), _prefix(prefix, origin), origin)
    if isinstance(value, Mapping):
        unknown = set(value) - {"dir", "package", "prefix", "subdir"}
        if unknown:
            raise ConfigError(
                f"unknown key {sorted(unknown)[0]!r} in a source table",
                hint="a source table takes 'dir' or 'package', plus 'prefix' (and 'subdir' "
                "for packages)",
                file=origin,
                key="sources",
            )
        prefix = _prefix(_expect(str, value.get("prefix", ""), "sources.prefix", origin), origin)
        if ("dir" in value) == ("package" in value):
            raise ConfigError(
                f"a source table needs exactly one of 'dir' or 'package'; found {dict(value)!r}",
                file=origin,
                key="sources",
            )
        if "dir" in value:
            return DirectorySource(
                _path(base, _expect(str, value["dir"], "sources.dir", origin)), prefix, origin
            )
        subdir = _expect(str, value.get("subdir", "static"), "sources.subdir", origin)
        package = _expect(str, value["package"], "sources.package", origin)
        return PackageSource(package, prefix, subdir.strip("/") or "static", origin)
    raise ConfigError(
        f"a source must be a string or a table; found {value!r}", file=origin, key="sources"
    )


# --- helpers ------------------------------------------------------------------------------


def _check_keys(table: Mapping[str, Any], origin: str) -> None:
    for key in table:
        if key in _KEYS:
            continue
        guess = did_you_mean(key, _KEYS)
        hint = f"did you mean {guess[0]!r}?" if guess else f"known keys: {', '.join(_KEYS)}"
        raise ConfigError(f"unknown configuration key {key!r}", hint=hint, file=origin, key=key)


def _expect(kind: type[T], value: Any, key: str, origin: str) -> T:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(
            f"{key!r} must be a {kind.__name__}; found {value!r}", file=origin, key=key
        )
    return value


def _strings(value: Any, key: str, origin: str) -> Iterable[str]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ConfigError(
            f"{key!r} must be a list of strings; found {value!r}", file=origin, key=key
        )
    return [_expect(str, item, key, origin) for item in value]


def _sources(value: Any, base: Path, origin: str) -> tuple[SourceSpec, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ConfigError(
            f"'sources' must be a list; found {value!r}",
            hint='e.g. sources = ["assets", "vendor=node_modules/x/dist"]',
            file=origin,
            key="sources",
        )
    return tuple(parse_source(item, base, origin) for item in value)


def _path(base: Path, value: str) -> Path:
    return Path(os.path.abspath(base / Path(value).expanduser()))


def _prefix(value: str, origin: str) -> str:
    prefix = value.strip("/")
    parts = prefix.split("/") if prefix else []
    if value.startswith("/") or any(c in "?#\\%\x7f" or c < " " for c in prefix):
        raise ConfigError(
            f"source prefix {value!r} must be a relative URL path, without '?', '#', '\\', "
            "'%' or control characters",
            hint="e.g. 'vendor/x' (a path under the URL prefix)",
            file=origin,
            key="sources",
        )
    if any(part in ("", ".", "..") for part in parts):
        raise ConfigError(
            f"source prefix {value!r} must be a plain relative path like 'vendor/x'",
            file=origin,
            key="sources",
        )
    return prefix
