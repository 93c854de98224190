"""The checks a :class:`~corral.config.Config` runs when it is made, whoever makes it.

A configuration file, flags, Django's settings and a hand-built ``corral.Config(...)`` all
end in ``Config.__post_init__``, so a wrong value is a :class:`~corral.errors.ConfigError`
naming the key and the value found, raised before a run creates its root or state
directory. The checks are cheap and load nothing heavy: the fingerprint options' own
validation (reference kinds, policies, globs), which loads the fingerprint engine, runs
only when those options are not the defaults, and the compression table's only when
there is one.
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
    defaults = (
        isinstance(config.missing, Mapping)
        and not config.missing
        and config.accept_missing == ()
        and config.passthrough is None
    )
    if not defaults:  # their types too: a wrong one would fail a run halfway
        config.fingerprint_options()
    if config.compress and config.compression:
        config.compression_options()


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
