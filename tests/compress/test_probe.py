"""Large incompressible files are recognised from samples, before any encoder runs."""

from __future__ import annotations

import os
from pathlib import Path

from corral.compress import CompressionCache, CompressionOptions, compress_many
from corral.compress.probe import PROBE_MIN_SIZE, incompressible

from .conftest import css_text, job_for, noise


def test_64_mb_of_random_bytes_are_skipped_without_compressing(
    tmp_path: Path, cache_dir: Path
) -> None:
    # Issue 18.7: brotli 11 spent about two minutes on this to throw the result away.
    blob = tmp_path / "random.bin"
    with blob.open("wb") as handle:
        for _ in range(64):
            handle.write(os.urandom(1 << 20))
    run = compress_many([job_for(blob)], CompressionOptions(), CompressionCache(cache_dir))
    assert run.computed == 0
    (result,) = run
    assert result.variants == ()
    assert {(s.encoding, s.reason) for s in result.skips} == {
        ("gzip", "incompressible"),
        ("br", "incompressible"),
        ("zstd", "incompressible"),
    }
    assert not cache_dir.exists() or not list(cache_dir.rglob("*.br"))


def test_compressible_and_small_files_are_compressed(tmp_path: Path, cache_dir: Path) -> None:
    text = tmp_path / "big.css"
    text.write_text(css_text(40_000))
    assert text.stat().st_size >= PROBE_MIN_SIZE and not incompressible(text, text.stat().st_size)
    small = tmp_path / "small.bin"
    small.write_bytes(noise(PROBE_MIN_SIZE - 1))  # below the probe: left to the ratio gate
    assert not incompressible(small, PROBE_MIN_SIZE - 1)
    options = CompressionOptions(brotli=False, zstd=False)
    run = compress_many([job_for(text), job_for(small)], options, CompressionCache(cache_dir))
    reasons = [[s.reason for s in r.skips] for r in run]
    assert run.computed == 2 and reasons == [[], ["no-gain"]]


def test_compressible_content_after_an_incompressible_head_is_seen(tmp_path: Path) -> None:
    # A bundle that embeds a big base64 or binary blob first, then text: the samples are
    # spread over the whole file, so the text decides.
    path = tmp_path / "mixed.js"
    path.write_bytes(noise(1 << 20) + css_text(60_000).encode())
    assert not incompressible(path, path.stat().st_size)


def test_an_unreadable_file_is_left_to_the_encoder(tmp_path: Path) -> None:
    assert not incompressible(tmp_path / "missing", 10 << 20)
