"""Is a large file worth compressing at all? A cheap look before an expensive encoder.

Brotli 11 runs at about 1 MB/s on content that does not compress (64 MB of random
bytes: two minutes), to produce a variant the ratio gate then throws away. Before any
encoder runs on a file of :data:`PROBE_MIN_SIZE` or more, :func:`incompressible`
deflates :data:`SAMPLES` blocks of :data:`SAMPLE_SIZE` bytes spread evenly over it
(zlib level 1, a few milliseconds in all) and calls the file incompressible when the
samples shrink by less than :data:`THRESHOLD`. The offsets depend only on the size,
so the answer is the same on every run for the same bytes.

Deflate at level 1 finds less than brotli 11, so a file it cannot shrink by 2% is one
brotli cannot shrink by the 5% the default ratio gate asks either, in practice:
media, archives, encrypted or already compressed data. A file whose compressible part
lies between the samples can be misjudged; that costs bytes on the wire, never a
wrong file, and ``min_size``/``levels`` rules still decide before the probe does.
"""

from __future__ import annotations

import os
import zlib

__all__ = ["PROBE_MIN_SIZE", "SAMPLES", "SAMPLE_SIZE", "THRESHOLD", "incompressible"]

#: Files smaller than this are compressed without a look: the look would cost as much.
PROBE_MIN_SIZE = 1 << 20
SAMPLES = 8
SAMPLE_SIZE = 64 << 10
#: Samples that deflate to more than this fraction of their size are incompressible.
THRESHOLD = 0.98


def incompressible(path: str | os.PathLike[str], size: int) -> bool:
    """Whether the file (``size`` bytes) looks incompressible; False if it can't be read
    (the encoder will then report the problem)."""
    if size < PROBE_MIN_SIZE:
        return False
    step = (size - SAMPLE_SIZE) // (SAMPLES - 1)
    taken = packed = 0
    try:
        with open(path, "rb") as handle:
            for index in range(SAMPLES):
                handle.seek(index * step)
                block = handle.read(SAMPLE_SIZE)
                taken += len(block)
                packed += len(zlib.compress(block, 1))
    except OSError:
        return False
    return taken > 0 and packed > taken * THRESHOLD
