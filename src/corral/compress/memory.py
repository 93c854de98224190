"""How much memory compression takes, and giving it back.

The encoders' memory is most of a cold run's peak: brotli 10 and zstd 16 take tens
of megabytes on a file of a few megabytes (:func:`memory_of`), and two such files
compressed at once on top of the run's own tables went past 200 MiB on the medium
benchmark corpus. The engine therefore keeps the estimated memory of the tasks in
flight within :data:`MEMORY_BUDGET` (see :mod:`.engine`), and a worker that finished
a big task hands the freed memory back to the system (:func:`release_free_memory`):
glibc keeps what a thread freed in that thread's arena, so without it the process
stays at its high-water mark for the rest of the run.
"""

from __future__ import annotations

from corral.compress.policy import Encoding
from corral.heap import release_free_memory

__all__ = ["MEMORY_BUDGET", "RELEASE_FROM", "memory_of", "release_free_memory"]

#: How much memory the encoders of tasks running at once may take together (estimated
#: by :func:`memory_of`). A task that fits alone always runs; while one is running,
#: another starts only if both fit, else the next task in cost order that does (a smaller
#: one), so big files are compressed one at a time while the other cores take the small
#: ones, and the run's peak memory does not grow with the number of cores.
MEMORY_BUDGET = 64 << 20
_MIB = 1 << 20


def memory_of(encoding: Encoding, level: int, size: int) -> int:
    """Estimated peak memory, in bytes, of one encoder on a ``size``-byte input.

    Measured with corral's encoders on JavaScript from the benchmark corpus (RSS growth,
    Python 3.11, brotli 1.2.1, zstd 1.5.7): brotli 10 took 9 / 22 / 36 / 50 MiB on
    0.25 / 1 / 2 / 4 MiB, brotli 5 17 MiB on 4 MiB; zstd 16 6 / 19 / 37 / 38 MiB, zstd 3
    5 MiB on 4 MiB; gzip 9 at most 4 MiB. The formulas are within a few MiB of each
    figure, above it for the biggest.
    """
    if encoding == "gzip":
        return 2 * _MIB
    if encoding == "br":
        window = 1 << 10
        while window < (1 << 24) and window - 16 < size:
            window <<= 1
        if level >= 10:  # the zopfli-style search: per-byte nodes plus a tree per window slot
            return 6 * _MIB + 10 * min(size, 1 << 24) + 2 * window
        return 2 * _MIB + 2 * window
    if level >= 10:
        return 2 * _MIB + 18 * min(size, 2 * _MIB)
    return 2 * _MIB + min(size, 4 * _MIB)


#: A task whose encoder is estimated at this much or more gives its memory back.
RELEASE_FROM = 8 * _MIB
