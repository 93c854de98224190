"""The fingerprinting engine's options, validated once when they are made.

``FingerprintOptions`` is frozen and typed; a bad value raises
:class:`~corral.errors.ConfigError` naming the key, the value found and what
would be valid. The configuration layer maps ``[tool.corral]`` (or Django's
settings) onto these keyword arguments.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import lru_cache
from types import MappingProxyType
from typing import cast, get_args

from corral.digest import SRI_ALGORITHMS
from corral.errors import ConfigError
from corral.references import KINDS as _KINDS
from corral.references import Kind, Policy

__all__ = [
    "DEFAULT_MISSING",
    "DEFAULT_PASSTHROUGH",
    "KINDS",
    "FingerprintOptions",
    "Policy",
]

KINDS: tuple[Kind, ...] = tuple(_KINDS)
_POLICIES: tuple[Policy, ...] = get_args(Policy)

#: The policy of each kind when ``missing`` does not name it (see
#: :data:`corral.references.KINDS`): errors where a missing file breaks a page,
#: warnings for source maps, which only break debugging.
DEFAULT_MISSING: Mapping[Kind, Policy] = MappingProxyType(
    {name: kind.missing for name, kind in _KINDS.items()}
)

_HASH_CHAR = "[A-Za-z0-9_-]"
#: Files a bundler already named by content: Vite/Rollup's and esbuild's
#: ``name-[hash].js`` (eight characters of base64url or base32), with their
#: ``.map``. A false positive would keep a name while its content changes (a
#: stale "immutable" cache), a false negative only costs a second hash, so the
#: eight characters must hold a digit *and* an upper-case letter after the
#: first: ``index-BRH8ky4y.js`` and ``chunk-5QRJPKGZ.js`` match, while
#: ``bootstrap-datepicker.js``, ``foo-Carousel.js``, ``foo-example1.js`` and
#: ``jquery-3.7.1.js`` do not. About a quarter of base64 hashes (no digit, or
#: no such capital) and lower-case hex hashes are not recognised: add your
#: bundler's own pattern to ``passthrough`` to match them.
DEFAULT_PASSTHROUGH: tuple[str, ...] = (
    rf"[^/]-(?={_HASH_CHAR}{{0,7}}[0-9])(?={_HASH_CHAR}{{1,7}}[A-Z])"
    rf"{_HASH_CHAR}{{8}}\.(?:m?js|css)(?:\.map)?$",
)


@dataclass(frozen=True, slots=True)
class FingerprintOptions:
    """How to fingerprint: the static URL, which references count, what may be missing.

    * ``url``: the URL prefix the files are served under (Django's
      ``STATIC_URL``), ending with ``/``: ``"/static/"``, ``"//cdn.example/s/"``
      or ``"https://cdn.example/s/"``. Root-absolute references under it
      (``/static/img/a.png``) are resolved; other absolute URLs are skipped.
    * ``modules``: resolve and rewrite ES module specifiers (``import``,
      ``export ... from``, literal ``import()``), as Django does only with
      ``support_js_module_import_aggregation``.
    * ``missing``: per reference kind, ``"error"``, ``"warn"`` or ``"ignore"``
      for a reference to a file that is not collected; kinds left out keep
      :data:`DEFAULT_MISSING`.
    * ``accept_missing``: ``fnmatch`` globs (case-sensitive) on the resolved
      logical path; a missing reference matching one is accepted silently.
    * ``passthrough``: regular expressions searched in the logical path; a
      matching file already carries a bundler's content hash, keeps its name
      and its bytes (see the package docstring).
    * ``integrity``: the hash of the Subresource Integrity values, ``"sha256"``
      (the content digest corral computes anyway), ``"sha384"`` or ``"sha512"``.
    * ``settings``: where the user sets these options, named in hints
      (``"[tool.corral]"``, or e.g. a Django storage's ``OPTIONS``).

    Raises :class:`~corral.errors.ConfigError` for an invalid value.
    """

    url: str = "/static/"
    modules: bool = True
    missing: Mapping[Kind, Policy] = field(default_factory=lambda: DEFAULT_MISSING)
    accept_missing: tuple[str, ...] = ()
    passthrough: tuple[str, ...] = DEFAULT_PASSTHROUGH
    integrity: str = "sha256"
    settings: str = "[tool.corral]"

    def __post_init__(self) -> None:
        _check_url(self.url)
        if not isinstance(self.modules, bool):
            raise ConfigError(f"modules must be true or false, not {self.modules!r}", key="modules")
        object.__setattr__(self, "missing", _merge_missing(self.missing))
        object.__setattr__(self, "accept_missing", _strings(self.accept_missing, "accept_missing"))
        patterns = _strings(self.passthrough, "passthrough")
        for pattern in patterns:
            try:
                _compiled(pattern)
            except re.error as exc:
                raise ConfigError(
                    f"passthrough pattern {pattern!r} is not a valid regular expression: {exc}",
                    key="passthrough",
                    hint="write a Python regular expression searched in the logical path, "
                    r"e.g. '-[A-Za-z0-9_-]{8}\.js$'",
                ) from None
        object.__setattr__(self, "passthrough", patterns)
        if self.integrity not in SRI_ALGORITHMS:
            raise ConfigError(
                f"integrity must be one of {', '.join(SRI_ALGORITHMS)}, not {self.integrity!r}",
                key="integrity",
            )

    def policy(self, kind: Kind) -> Policy:
        """Return what to do about a missing reference of ``kind``."""
        return self.missing[kind]

    def accepts(self, resolved: str) -> bool:
        """Whether a missing reference resolving to ``resolved`` is accepted silently."""
        return any(fnmatchcase(resolved, glob) for glob in self.accept_missing)

    def is_passthrough(self, logical: str) -> bool:
        """Whether ``logical`` already carries a bundler's content hash."""
        return any(_compiled(p).search(logical) for p in self.passthrough)


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _check_url(url: object) -> None:
    ok = (
        isinstance(url, str)
        and url.endswith("/")
        and (url.startswith("/") or re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", url) is not None)
    )
    if not ok:
        raise ConfigError(
            f"url must be an absolute URL path or URL ending with '/', not {url!r}",
            key="url",
            hint='e.g. url = "/static/" or url = "https://cdn.example.com/static/"',
        )


def _merge_missing(given: object) -> Mapping[Kind, Policy]:
    if not isinstance(given, Mapping):
        raise ConfigError(f"missing must be a table of kind = policy, not {given!r}", key="missing")
    merged: dict[Kind, Policy] = dict(DEFAULT_MISSING)
    for kind, policy in given.items():
        if kind not in KINDS:
            raise ConfigError(
                f"unknown reference kind {kind!r} in missing",
                key=f"missing.{kind}",
                hint="the kinds are " + ", ".join(KINDS),
            )
        if policy not in _POLICIES:
            raise ConfigError(
                f"missing.{kind} must be one of {', '.join(_POLICIES)}, not {policy!r}",
                key=f"missing.{kind}",
            )
        merged[kind] = cast(Policy, policy)
    return MappingProxyType(merged)


def _strings(value: object, key: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (tuple, list)):
        raise ConfigError(f"{key} must be a list of strings, not {value!r}", key=key)
    for item in value:
        if not isinstance(item, str):
            raise ConfigError(f"{key} must hold only strings, not {item!r}", key=key)
    return tuple(value)
