"""Precompressed gzip, brotli and zstd variants, computed once per content.

Public API::

    options = CompressionOptions(brotli_level=11, min_size=256, max_ratio=0.95)
    cache = CompressionCache(target / ".corral" / "cache")
    results = compress_many(jobs, options, cache, workers=None, progress=None)
    cache.prune(keep_digests)

Modules: :mod:`.policy` (options, what to skip), :mod:`.encoders` (deterministic
streaming encoders), :mod:`.cache` (content-addressed, self-verifying cache),
:mod:`.engine` (parallel runs).

MEASUREMENTS
"""

from __future__ import annotations

from corral.compress.cache import CachedVariant, CompressionCache, NoGain, PruneStats
from corral.compress.engine import (
    CompressionResults,
    CompressJob,
    JobResult,
    ProgressCallback,
    Skip,
    Variant,
    compress_many,
)
from corral.compress.policy import (
    ENCODINGS,
    SKIP_EXTENSIONS,
    CompressionOptions,
    Encoding,
    SkipReason,
)

__all__ = [
    "ENCODINGS",
    "SKIP_EXTENSIONS",
    "CachedVariant",
    "CompressJob",
    "CompressionCache",
    "CompressionOptions",
    "CompressionResults",
    "Encoding",
    "JobResult",
    "NoGain",
    "ProgressCallback",
    "PruneStats",
    "Skip",
    "SkipReason",
    "Variant",
    "compress_many",
]
