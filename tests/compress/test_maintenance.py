"""Bounding the shared cache: info, and pruning by age and size, least recently used first."""

from __future__ import annotations

import os
import time
from pathlib import Path

from corral.compress import CompressionCache, CompressionOptions, compress_many
from corral.compress.maintenance import cache_info, prune_cache

from .conftest import job_for

OPTIONS = CompressionOptions(brotli=False, zstd=False)


def _fill(site: dict[str, Path], cache: CompressionCache) -> dict[str, Path]:
    """Cache the gzip variant of three files; return their content directories by name."""
    names = ["css/app.css", "js/app.js", "img/logo.svg"]
    jobs = {name: job_for(site[name]) for name in names}
    compress_many(list(jobs.values()), OPTIONS, cache)
    return {name: cache.content_dir(job.digest) for name, job in jobs.items()}


def _age(directory: Path, seconds_ago: float) -> None:
    when = time.time() - seconds_ago
    os.utime(directory, (when, when))


def test_info_counts_contents_files_and_bytes(site: dict[str, Path], cache_dir: Path) -> None:
    cache = CompressionCache(cache_dir)
    assert cache_info(cache).contents == 0
    dirs = _fill(site, cache)
    info = cache_info(cache)
    files = [p for d in dirs.values() for p in d.iterdir()]
    assert (info.contents, info.files) == (3, len(files))
    assert info.bytes == sum(p.stat().st_size for p in files)
    assert info.oldest_use is not None and info.newest_use is not None
    assert info.linked_bytes == 0


def test_info_says_how_much_of_the_cache_targets_link(
    site: dict[str, Path], cache_dir: Path, tmp_path: Path
) -> None:
    # A hard link from a target is a second name of the entry: counted in full in
    # ``bytes`` (the cache's names hold it) and in ``linked_bytes`` (pruning it frees
    # nothing until the target drops its link).
    cache = CompressionCache(cache_dir)
    dirs = _fill(site, cache)
    entry = next(dirs["css/app.css"].iterdir())
    os.link(entry, tmp_path / "published.css.gz")
    info = cache_info(cache)
    assert info.linked_bytes == entry.stat().st_size > 0
    assert info.bytes == sum(p.stat().st_size for d in dirs.values() for p in d.iterdir())
    assert info.to_dict()["linked_bytes"] == info.linked_bytes


def test_prune_by_size_removes_the_least_recently_used_first(
    site: dict[str, Path], cache_dir: Path
) -> None:
    cache = CompressionCache(cache_dir)
    dirs = _fill(site, cache)
    for age, name in enumerate(["img/logo.svg", "js/app.js", "css/app.css"]):
        _age(dirs[name], 1000 * (age + 1))  # css the oldest, svg the newest
    # A lookup that finds something marks the content as used now.
    compress_many([job_for(site["css/app.css"])], OPTIONS, cache)
    keep = sum(p.stat().st_size for p in dirs["css/app.css"].iterdir())
    stats = prune_cache(cache, max_size=keep)
    assert stats.contents == 2
    assert [name for name, d in dirs.items() if d.exists()] == ["css/app.css"]


def test_prune_by_age_and_dry_run(site: dict[str, Path], cache_dir: Path) -> None:
    cache = CompressionCache(cache_dir)
    dirs = _fill(site, cache)
    _age(dirs["js/app.js"], 40 * 86400)
    dry = prune_cache(cache, older_than=30 * 86400, dry_run=True)
    assert dry.contents == 1 and dirs["js/app.js"].exists()
    stats = prune_cache(cache, older_than=30 * 86400)
    assert (stats.contents, stats.files, stats.bytes) == (dry.contents, dry.files, dry.bytes)
    assert not dirs["js/app.js"].exists() and dirs["css/app.css"].exists()


def test_a_content_being_written_is_never_pruned(site: dict[str, Path], cache_dir: Path) -> None:
    cache = CompressionCache(cache_dir)
    dirs = _fill(site, cache)
    writing = cache.new_temp(dirs["js/app.js"])  # another process is writing here
    stats = prune_cache(cache, max_size=0)
    assert stats.contents == 2 and writing.exists()
    # A temporary file an hour old is a crashed writer's: its content goes too.
    prune_cache(cache, max_size=0, now=time.time() + 7200)
    assert not cache_dir.joinpath("v1").exists() or not any(cache_dir.joinpath("v1").iterdir())
    run = compress_many([job_for(site["js/app.js"])], OPTIONS, cache)
    assert run.computed == 1 and next(iter(run)).variants[0].path.exists()
