"""The checks a :class:`~corral.config.Config` runs when it is made, whoever makes it.

A configuration file, flags, Django's settings and a hand-built ``corral.Config(...)`` all
end in ``Config.__post_init__``, so a wrong value is a :class:`~corral.errors.ConfigError`
naming the key and the value found, raised before a run creates its root or state
directory. The checks are cheap and load nothing heavy (a no-change run must not load the
fingerprint engine): the fingerprint options' types are checked here, their values
(reference kinds, policies, patterns) by the fingerprint options themselves, which
:func:`corral.config.load_config` asks for at once and a hand-built Config when a run
fingerprints; the compression table is checked whenever there is one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from corral.errors import ConfigError

if TYPE_CHECKING:
    from corral.config import Config

__all__ = ["check_config", "check_integrity", "check_jobs", "check_url"]

#: The settings that are true or false.
_FLAGS = (
    "default_ignore",
    "strict",
    "hash",
    "modules",
    "compress",
    "compress_after",
    "cache",
    "link",
)


def check_config(config: Config) -> None:
    """Raise :class:`ConfigError` for the first setting of ``config`` that is wrong."""
    origin = config.origin
    check_url(config.url, origin)
    check_integrity(config.integrity, origin)
    if config.keep is not None and (not isinstance(config.keep, int) or config.keep < 0):
        raise ConfigError(
            f"'keep' must be a whole number of releases, 0 or more; found {config.keep!r}",
            file=origin,
            key="keep",
        )
    for name in _FLAGS:
        value = getattr(config, name)
        if not isinstance(value, bool):
            raise ConfigError(
                f"{name!r} must be true or false; found {value!r}", file=origin, key=name
            )
    check_jobs(config.jobs, origin)
    _check_missing(config.missing, origin)
    _check_strings(config.accept_missing, "accept_missing", origin)
    if config.passthrough is not None:
        _check_strings(config.passthrough, "passthrough", origin)
    if config.compress and config.compression:
        config.compression_options()


def _check_missing(missing: object, origin: str) -> None:
    """``missing``: a table of reference kind to policy name. The kinds and policies
    themselves are checked by the fingerprint options, which load the engine: by
    :func:`corral.config.load_config` at once, for a hand-built Config when a run
    fingerprints."""
    hint = 'e.g. missing = { sourcemap = "ignore", url = "warn" }'
    if not isinstance(missing, Mapping):
        raise ConfigError(
            f"'missing' must be a table of reference kind to policy; found {missing!r}",
            hint=hint,
            file=origin,
            key="missing",
        )
    for kind, policy in missing.items():
        if not isinstance(kind, str) or not isinstance(policy, str):
            raise ConfigError(
                f"'missing' must map reference kinds to policy names; found {kind!r}: {policy!r}",
                hint=hint,
                file=origin,
                key=f"missing.{kind}" if isinstance(kind, str) else "missing",
            )


def _check_strings(value: object, key: str, origin: str) -> None:
    """A list (or tuple) of strings."""
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ConfigError(
            f"{key!r} must be a list of strings; found {value!r}", file=origin, key=key
        )
    for item in value:
        if not isinstance(item, str):
            raise ConfigError(
                f"{key!r} must be a list of strings; found {item!r} in it", file=origin, key=key
            )


def check_jobs(jobs: object, origin: str) -> None:
    """``jobs``: None (the CPUs this process may use) or a whole number, 1 or more."""
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise ConfigError(
            f"'jobs' must be a whole number, 1 or more; found {jobs!r}", file=origin, key="jobs"
        )


def check_integrity(algorithm: object, origin: str) -> None:
    """``integrity``: one of the SRI hashes."""
    from corral.digest import SRI_ALGORITHMS  # noqa: PLC0415

    if algorithm not in SRI_ALGORITHMS:
        raise ConfigError(
            f"'integrity' must be one of {', '.join(SRI_ALGORITHMS)}; found {algorithm!r}",
            hint='the hash of the Subresource Integrity values, e.g. integrity = "sha384"',
            file=origin,
            key="integrity",
        )


def check_url(url: object, origin: str) -> None:
    """``url``: a path or an absolute URL, ending in ``/``."""
    if (
        not isinstance(url, str)
        or not url.endswith("/")
        or not (url.startswith("/") or "://" in url)
    ):
        raise ConfigError(
            f"'url' must be a path or absolute URL ending in '/', like '/static/'; found {url!r}",
            file=origin,
            key="url",
        )
