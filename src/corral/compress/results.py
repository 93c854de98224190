"""What goes into :func:`~corral.compress.compress_many` and what comes out."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from corral.compress.policy import Encoding, SkipReason

__all__ = [
    "CompressJob",
    "CompressionResults",
    "JobInput",
    "JobResult",
    "ProgressCallback",
    "Skip",
    "Variant",
]

#: ``progress(done, total)``: unique contents finished (cache hits count at once)
#: out of the unique contents to compress.
ProgressCallback = Callable[[int, int], None]


class CompressJob(NamedTuple):
    """One file to compress: sha256 hex of its bytes, where it is, its size, and the
    name its policy is chosen by (its published path; ``""``: ``path``)."""

    digest: str
    path: str | os.PathLike[str]
    size: int
    name: str = ""


@dataclass(frozen=True, slots=True)
class Variant:
    """A kept variant: ``size`` encoded bytes at ``path`` (in the cache).

    ``integrity`` is the SRI string of the encoded bytes (``sha384-<base64>``).
    ``computed`` is True if this call compressed it, False if it came from the cache.
    """

    encoding: Encoding
    level: int
    size: int
    integrity: str
    path: Path
    computed: bool


@dataclass(frozen=True, slots=True)
class Skip:
    """No variant in ``encoding``, because of ``reason``.

    For ``"no-gain"``, ``size`` is the encoded size that failed the ratio gate.
    """

    encoding: Encoding
    reason: SkipReason
    size: int | None = None


@dataclass(frozen=True, slots=True)
class JobResult:
    """For one job: its kept variants and its skipped encodings (enabled ones only)."""

    job: CompressJob
    variants: tuple[Variant, ...]
    skips: tuple[Skip, ...]


@dataclass(frozen=True, slots=True)
class CompressionResults:
    """What :func:`compress_many` did: one result per job, in job order, and counters.

    ``computed`` counts the (content, encoding) pairs compressed by this call (kept
    or not); ``cache_hits`` those answered by the cache, including recorded
    "no gain" results; ``discarded`` the bad cache entries found, deleted and
    recomputed. A second run over unchanged contents has ``computed == 0``.
    """

    results: tuple[JobResult, ...]
    computed: int
    cache_hits: int
    discarded: int

    def __iter__(self) -> Iterator[JobResult]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)


#: A job as callers may pass it: a :class:`CompressJob` or a plain 3-tuple.
JobInput = (
    CompressJob
    | tuple[str, str | os.PathLike[str], int]
    | tuple[str, str | os.PathLike[str], int, str]
)
