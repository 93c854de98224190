"""The encoders' memory estimates and giving freed memory back."""

from __future__ import annotations

import platform

import pytest

from corral.compress.memory import MEMORY_BUDGET, memory_of, release_free_memory
from corral.heap import _malloc_trim

MIB = 1 << 20


@pytest.mark.parametrize("encoding", ["gzip", "br", "zstd"])
def test_an_estimate_never_shrinks_as_the_file_grows(encoding: str) -> None:
    for level in (1, 5, 9, 10, 16):
        sizes = [0, 1000, 256 << 10, MIB, 2 * MIB, 4 * MIB, 64 * MIB]
        estimates = [memory_of(encoding, level, size) for size in sizes]  # type: ignore[arg-type]
        assert estimates == sorted(estimates)


def test_the_slow_levels_are_the_big_ones_and_two_big_files_do_not_fit_together() -> None:
    # Measured (see corral.compress.memory): brotli 10 on 2 MiB took 36 MiB, zstd 16 37 MiB.
    assert 32 * MIB <= memory_of("br", 10, 2 * MIB) <= 40 * MIB
    assert 32 * MIB <= memory_of("zstd", 16, 2 * MIB) <= 40 * MIB
    assert memory_of("br", 5, 2 * MIB) < memory_of("br", 10, 2 * MIB) / 2
    assert memory_of("zstd", 3, 2 * MIB) < memory_of("zstd", 16, 2 * MIB) / 4
    assert memory_of("br", 10, 2 * MIB) + memory_of("zstd", 16, 2 * MIB) > MEMORY_BUDGET
    assert memory_of("br", 10, 2 * MIB) + memory_of("gzip", 9, 2 * MIB) <= MEMORY_BUDGET


def test_memory_is_given_back_through_glibc_where_there_is_glibc() -> None:
    if platform.libc_ver()[0] == "glibc":
        assert _malloc_trim() is not None
    blocks = [bytearray(MIB) for _ in range(8)]
    del blocks
    release_free_memory()  # twice in a row is fine too
    release_free_memory()
