"""Precompressed gzip, brotli and zstd variants, computed once per content.

Public API::

    options = CompressionOptions(brotli_level=10, min_size=256, max_ratio=0.95)
    cache = CompressionCache(variants_dir(cache_dir))  # see corral.compress.location
    run = compress_many(jobs, options, cache, workers=None, progress=None)
    for result in run:  # one JobResult per job, in job order
        result.variants  # Variant(encoding, level, size, integrity, path, computed)
        result.skips  # Skip(encoding, reason, size)
    run.computed, run.cache_hits, run.discarded
    cache.prune(keep_digests)

Modules: :mod:`.policy` (options, what to skip), :mod:`.encoders` (deterministic
streaming encoders), :mod:`.cache` (content-addressed, self-verifying cache),
:mod:`.results` (job and result types), :mod:`.engine` (the parallel run),
:mod:`.worker` (one content in one encoding), :mod:`.location` (where the cache lives,
and the cache of one run), :mod:`.maintenance` (bounding it) and :mod:`.tree`
(``corral compress DIR``). The library never prints.

Decisions, measured on a 2-core VM (Python 3.11, zlib 1.2.13, brotli 1.2.1, zstd
1.5.7) over an npm corpus: bootstrap 5.3.3, @popperjs/core 2.11.8,
@fortawesome/fontawesome-free 6.5.2, leaflet 1.9.4, swagger-ui-dist 5.35.0,
pdfjs-dist 4.10.38 -- 3,126 files, 82.8 MB, 3,030 unique contents; 2,909 files
(82.5 MB) pass the skip rules. Other jobs shared the VM (load average 4-10 on 2
cores), so CPU-seconds are the comparable figure; wall times are given with the
load they were taken under.

- **Levels** (revised for issue 22, measured on the medium benchmark corpus with
  ``benchmarks/compression_levels.py``; the figures below this item are the original
  ones, at the old levels gzip 9, brotli 11, zstd 19): each content is compressed once
  and cached, but a container or CI build without a kept cache pays for every level on
  every deploy. On the CSS/JS/SVG/font/JSON/HTML files, brotli 10 keeps 99.5% of brotli
  11's savings for 44% of its CPU time, zstd 16 99.7% of zstd 19's for 52%; gzip stays
  at 9 (6 would save 2 CPU-s of 240). Source maps, fetched only by developer tools, get
  brotli 5, gzip 6 and zstd 3 (:data:`~corral.compress.policy.DEFAULT_RULES`). Every
  level stays configurable, per glob too (``levels``). With the window capped at 8 MiB
  (RFC 9659) zstd 20-22 differ from 19 only in search effort.
- **Threads, not processes**: zlib, brotli and zstandard release the GIL (two
  threads on one 600 KB file: 2.24x brotli, 1.91x zstd, 1.44x gzip over running
  them in turn). Alternating cold runs on bootstrap + leaflet (325 files, 13.4 MB,
  all three encodings, 2 workers, load 9-10): threads 67.3 / 47.6 / 44.7 s,
  forkserver processes 50.4 / 42.4 / 50.7 s -- no difference beyond the noise,
  and the thread runs used 29-35 CPU-s, the single-threaded sum, so nothing
  waits on the GIL. Threads win on everything else: no start-up or pickling, and
  no ``if __name__ == "__main__"`` guard needed in the host program (a
  spawn/forkserver pool crashes a script without one; fork is unsafe in a
  threaded host such as a web process).
- **Results on the corpus** (kept variants; bytes are the same on every run):
  gzip 9: 2,902 files, 82.47 MB -> 22.09 MB (60.38 MB saved);
  brotli 11: 2,909 files, 82.48 MB -> 18.05 MB (64.42 MB saved);
  zstd 19: 2,907 files, 82.47 MB -> 19.22 MB (63.25 MB saved).
  Cold, all three encodings: 169.5 s wall at load 3.7; 410.6 s wall and 210.6
  CPU-s at load 9.6. Warm (8,517 lookups, every entry re-hashed): 0.64 s at load
  3.7, 1.5-2.3 s at load 8-9, about 1 CPU-s for the whole process.
- **Against the CLI floor** (``xargs -P 2 -n 20`` over the same 2,909 files):
  ``brotli -q 11 -k`` (1.0.9) 169.4 CPU-s, 18,050,497 bytes -- exactly our total,
  because the window is chosen as the CLI chooses it; ``gzip -9 -k`` 9.3 CPU-s.
  corral with gzip 9 + brotli 11 used 178.7 CPU-s, the floor's 9.3 + 169.4 = 178.7:
  the Python layer adds nothing measurable. Wall time, alternating runs on
  bootstrap + leaflet (302 compressible files, 13.4 MB, load 9-10): corral
  52.6 / 42.3 / 35.4 s against the floor's (brotli then gzip) 47.8 / 38.6 / 31.5 s,
  1.10-1.12x, within the issue's 1.3x goal.
- **Memory**: files are streamed in 1 MiB chunks, at most ``workers`` at a time.
  Peak RSS over the six largest files (1.9-5.4 MB), 2 workers, all three
  encodings: 246 MB, mostly brotli 11's match finder, which grows with the window
  (at most 16 MiB), not with the file.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# The options are light and every run builds them (a no-change run too, to compare the
# options with the last run's); the encoders, cache and engine load on first use.
from corral.compress.policy import (
    ENCODINGS,
    SKIP_EXTENSIONS,
    CompressionOptions,
    Encoding,
    SkipReason,
)

if TYPE_CHECKING:
    from corral.compress.cache import CachedVariant, CompressionCache, NoGain, PruneStats
    from corral.compress.engine import compress_many
    from corral.compress.results import (
        CompressionResults,
        CompressJob,
        JobInput,
        JobResult,
        ProgressCallback,
        Skip,
        Variant,
    )
else:  # type checkers see the imports above, so they still flag unknown names

    def __getattr__(name: str) -> Any:
        """Load the cache, engine and result types on first use of one of their names."""
        if name in __all__:  # a public name not defined yet: one of the lazy ones
            for module in ("cache", "engine", "results"):
                found = importlib.import_module(f"{__name__}.{module}")
                if hasattr(found, name):
                    value = getattr(found, name)
                    globals()[name] = value  # later lookups skip this function
                    return value
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ENCODINGS",
    "SKIP_EXTENSIONS",
    "CachedVariant",
    "CompressJob",
    "CompressionCache",
    "CompressionOptions",
    "CompressionResults",
    "Encoding",
    "JobInput",
    "JobResult",
    "NoGain",
    "ProgressCallback",
    "PruneStats",
    "Skip",
    "SkipReason",
    "Variant",
    "compress_many",
]
