"""The cache: verified on every read, bad entries deleted, "no gain" remembered, pruning."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from pathlib import Path

import pytest

from corral.compress import (
    CachedVariant,
    CompressionCache,
    CompressionOptions,
    NoGain,
    compress_many,
)
from corral.compress.encoders import library_tag

from .conftest import decode, job_for, noise

GZIP_ONLY = CompressionOptions(brotli=False, zstd=False)


def entries(cache: Path) -> list[Path]:
    """Every file a lookup may consider (temporary files are dot-files)."""
    return sorted(p for p in cache.rglob("*") if p.is_file() and p.name != "CACHEDIR.TAG")


def test_miss_on_an_empty_cache(cache_dir: Path) -> None:
    assert CompressionCache(cache_dir).lookup("0" * 64, "gzip", 9) is None


@pytest.mark.parametrize("digest", ["../../etc", "A" * 64, "0" * 63, ""])
def test_a_digest_that_is_not_sha256_hex_is_refused(cache_dir: Path, digest: str) -> None:
    with pytest.raises(ValueError, match="sha256"):
        CompressionCache(cache_dir).lookup(digest, "gzip", 9)


def test_entry_holds_exactly_the_encoded_bytes_named_by_their_sha384(
    site: dict[str, Path], cache_dir: Path
) -> None:
    job = job_for(site["css/app.css"])
    (result,) = compress_many([job], GZIP_ONLY, CompressionCache(cache_dir))
    (variant,) = result.variants
    data = variant.path.read_bytes()
    assert decode("gzip", data) == site["css/app.css"].read_bytes()
    assert hashlib.sha384(data).hexdigest() in variant.path.name
    assert variant.path.parent.name == job.digest
    assert variant.path.name.startswith("gzip-9-zlib")
    assert variant.path.suffix == ".gz"
    hit = CompressionCache(cache_dir).lookup(job.digest, "gzip", 9)
    assert hit == CachedVariant(variant.path, len(data), variant.integrity)
    assert (
        (cache_dir / "CACHEDIR.TAG")
        .read_text()
        .startswith("Signature: 8a477f597d28d172789f06886806bc55")
    )


@pytest.mark.parametrize("damage", ["flip-a-byte", "truncate", "empty", "append"])
def test_a_damaged_entry_is_deleted_never_served_and_recomputed(
    site: dict[str, Path], cache_dir: Path, damage: str
) -> None:
    job = job_for(site["js/app.js"])
    cache = CompressionCache(cache_dir)
    (first,) = compress_many([job], GZIP_ONLY, cache)
    path = first.variants[0].path
    data = bytearray(path.read_bytes())
    if damage == "flip-a-byte":
        data[len(data) // 2] ^= 0x01
    elif damage == "truncate":
        del data[len(data) // 2 :]
    elif damage == "empty":
        data.clear()
    else:
        data += b"\0"
    path.write_bytes(bytes(data))

    second = compress_many([job], GZIP_ONLY, cache)
    assert (second.discarded, second.computed, second.cache_hits) == (1, 1, 0)
    (variant,) = second.results[0].variants
    assert variant.computed
    assert variant == dataclasses.replace(first.variants[0], computed=True)
    assert decode("gzip", variant.path.read_bytes()) == site["js/app.js"].read_bytes()
    assert compress_many([job], GZIP_ONLY, cache).computed == 0


def test_lookup_alone_deletes_a_corrupt_entry(site: dict[str, Path], cache_dir: Path) -> None:
    job = job_for(site["css/app.css"])
    cache = CompressionCache(cache_dir)
    (result,) = compress_many([job], GZIP_ONLY, cache)
    path = result.variants[0].path
    path.write_bytes(b"\x1f\x8b garbage")
    assert cache.lookup(job.digest, "gzip", 9) is None
    assert not path.exists()


def test_temporary_and_foreign_files_are_never_served(
    site: dict[str, Path], cache_dir: Path
) -> None:
    job = job_for(site["css/app.css"])
    cache = CompressionCache(cache_dir)
    directory = cache.content_dir(job.digest)
    directory.mkdir(parents=True)
    (directory / ".tmp-123-abc").write_bytes(b"partial")
    (directory / "gzip-9-zlib1.2.13.notahash.gz").write_bytes(b"x")
    (directory / "README").write_text("hello")
    assert cache.lookup(job.digest, "gzip", 9) is None


def test_no_gain_is_remembered_and_the_gate_reapplied_on_read(
    tmp_path: Path, cache_dir: Path
) -> None:
    # ~97% of its size after compression: fails a 0.95 gate, passes a 0.99 one.
    path = tmp_path / "blob.bin"
    path.write_bytes(noise(4000) + b"\0" * 120)
    job = job_for(path)
    cache = CompressionCache(cache_dir)

    first = compress_many([job], GZIP_ONLY, cache)
    (skip,) = first.results[0].skips
    assert (skip.reason, first.computed) == ("no-gain", 1)
    assert skip.size is not None and 0.95 * job.size < skip.size < job.size
    assert cache.lookup(job.digest, "gzip", 9) == NoGain(skip.size)
    assert [p.name for p in entries(cache_dir)] == [
        f"gzip-9-{library_tag('gzip')}.nogain-{skip.size}"
    ]

    again = compress_many([job], GZIP_ONLY, cache)
    assert (again.computed, again.cache_hits, again.results[0].skips) == (0, 1, (skip,))

    looser = CompressionOptions(brotli=False, zstd=False, max_ratio=0.99)
    kept = compress_many([job], looser, cache)
    assert kept.computed == 1
    assert kept.results[0].variants[0].size == skip.size

    # Tightening the gate needs no recomputation: the stored size decides.
    assert compress_many([job], GZIP_ONLY, cache).computed == 0


def test_entries_are_read_only_and_readable_by_everyone(
    site: dict[str, Path], cache_dir: Path
) -> None:
    old = os.umask(0o022)
    try:
        (result,) = compress_many(
            [job_for(site["css/app.css"])], GZIP_ONLY, CompressionCache(cache_dir)
        )
    finally:
        os.umask(old)
    assert result.variants[0].path.stat().st_mode & 0o777 == 0o444


def test_prune_keeps_referenced_contents_and_removes_the_rest(
    site: dict[str, Path], cache_dir: Path
) -> None:
    cache = CompressionCache(cache_dir)
    css, js = job_for(site["css/app.css"]), job_for(site["js/app.js"])
    compress_many([css, js], CompressionOptions(), cache)
    kept_dir, gone_dir = cache.content_dir(css.digest), cache.content_dir(js.digest)
    stale, fresh = kept_dir / ".tmp-1-stale", kept_dir / ".tmp-1-fresh"
    stale.write_bytes(b"left by a crash")
    fresh.write_bytes(b"being written")
    an_hour_ago = time.time() - 3700
    os.utime(stale, (an_hour_ago, an_hour_ago))
    old_layout = cache_dir / "v0" / "ab"
    old_layout.mkdir(parents=True)
    (old_layout / "entry").write_bytes(b"old")

    stats = cache.prune({css.digest})

    assert stats.contents == 1
    assert stats.files == 3 + 1 + 1  # js's three variants, the stale temp, the old layout
    assert not gone_dir.exists() and not (cache_dir / "v0").exists()
    assert not stale.exists() and fresh.exists()
    assert compress_many([css], CompressionOptions(), cache).computed == 0
    assert compress_many([js], CompressionOptions(), cache).computed == 3


def test_prune_of_a_missing_cache_is_a_no_op(tmp_path: Path) -> None:
    stats = CompressionCache(tmp_path / "nothing").prune(set())
    assert (stats.contents, stats.files, stats.bytes) == (0, 0, 0)
