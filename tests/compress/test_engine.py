"""compress_many: round trips, determinism, skips, once per content, progress, errors."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import shutil
import threading
import time
from pathlib import Path

import pytest

from corral.compress import (
    ENCODINGS,
    CompressionCache,
    CompressionOptions,
    CompressJob,
    Skip,
    compress_many,
    engine,
)
from corral.compress.worker import Outcome, Task
from corral.errors import BuildError, ConfigError, TargetError

from .conftest import css_text, decode, job_for

ALL = ENCODINGS


def jobs_for(site: dict[str, Path]) -> list[CompressJob]:
    return [job_for(path) for path in site.values()]


def test_every_variant_decompresses_to_the_exact_original(
    site: dict[str, Path], cache_dir: Path
) -> None:
    run = compress_many(jobs_for(site), CompressionOptions(), CompressionCache(cache_dir))
    compressed = {r.job.path.name: r for r in run if r.variants}
    assert sorted(compressed) == ["app.css", "app.js", "config.json", "logo.svg"]
    for result in compressed.values():
        original = result.job.path.read_bytes()
        assert tuple(v.encoding for v in result.variants) == ALL
        for variant in result.variants:
            data = variant.path.read_bytes()
            assert decode(variant.encoding, data) == original
            assert variant.size == len(data) <= 0.95 * len(original)
            sha384 = base64.b64encode(hashlib.sha384(data).digest()).decode()
            assert variant.integrity == f"sha384-{sha384}"
            assert variant.path.is_relative_to(cache_dir)


def test_results_come_in_job_order_with_skip_reasons(
    site: dict[str, Path], cache_dir: Path
) -> None:
    jobs = jobs_for(site)
    run = compress_many(jobs, CompressionOptions(), CompressionCache(cache_dir))
    assert [r.job for r in run] == jobs
    by_name = {r.job.path.name: r for r in run}
    assert by_name["photo.png"].variants == ()
    assert by_name["photo.png"].skips == tuple(Skip(e, "media-type") for e in ALL)
    assert by_name["robots.txt"].skips == tuple(Skip(e, "too-small") for e in ALL)
    assert by_name["app.css"].skips == ()


def test_two_runs_on_fresh_caches_give_byte_identical_variants(
    site: dict[str, Path], tmp_path: Path
) -> None:
    def variants(cache: Path) -> list[tuple[str, str, bytes]]:
        run = compress_many(jobs_for(site), CompressionOptions(), CompressionCache(cache))
        return [(v.path.name, v.integrity, v.path.read_bytes()) for r in run for v in r.variants]

    assert variants(tmp_path / "one") == variants(tmp_path / "two")


def test_second_run_computes_nothing(site: dict[str, Path], cache_dir: Path) -> None:
    cache = CompressionCache(cache_dir)
    first = compress_many(jobs_for(site), CompressionOptions(), cache)
    assert (first.computed, first.cache_hits) == (4 * 3, 0)
    second = compress_many(jobs_for(site), CompressionOptions(), cache)
    assert (second.computed, second.cache_hits, second.discarded) == (0, 4 * 3, 0)
    assert all(not v.computed for r in second for v in r.variants)
    assert [r.variants for r in second] == [
        tuple(dataclasses.replace(v, computed=False) for v in r.variants) for r in first
    ]


def test_one_changed_file_compresses_one_file(site: dict[str, Path], cache_dir: Path) -> None:
    cache = CompressionCache(cache_dir)
    compress_many(jobs_for(site), CompressionOptions(), cache)
    site["css/app.css"].write_text(css_text(300, seed=99))
    run = compress_many(jobs_for(site), CompressionOptions(), cache)
    assert (run.computed, run.cache_hits) == (3, 3 * 3)


def test_shared_content_is_compressed_once(site: dict[str, Path], cache_dir: Path) -> None:
    original = site["css/app.css"]
    hashed = original.with_name("app.0123456789ab.css")
    shutil.copyfile(original, hashed)
    run = compress_many(
        [job_for(original), job_for(hashed)], CompressionOptions(), CompressionCache(cache_dir)
    )
    assert run.computed == 3
    assert run.results[0].variants == run.results[1].variants


def test_only_enabled_encodings_at_their_levels(site: dict[str, Path], cache_dir: Path) -> None:
    options = CompressionOptions(gzip=False, brotli_level=4, zstd=False)
    (result,) = compress_many([job_for(site["js/app.js"])], options, CompressionCache(cache_dir))
    assert [(v.encoding, v.level) for v in result.variants] == [("br", 4)]
    assert result.variants[0].path.name.startswith("br-4-brotli")


def test_nothing_enabled_means_nothing_done(site: dict[str, Path], cache_dir: Path) -> None:
    options = CompressionOptions(gzip=False, brotli=False, zstd=False)
    run = compress_many(jobs_for(site), options, CompressionCache(cache_dir))
    assert run.computed == 0
    assert all(r.variants == () and r.skips == () for r in run)
    assert not cache_dir.exists()


def test_variant_not_small_enough_is_skipped_as_no_gain(
    site: dict[str, Path], cache_dir: Path
) -> None:
    options = CompressionOptions(max_ratio=0.05)  # no real file shrinks 20x
    (result,) = compress_many([job_for(site["css/app.css"])], options, CompressionCache(cache_dir))
    assert result.variants == ()
    assert [(s.encoding, s.reason) for s in result.skips] == [(e, "no-gain") for e in ALL]
    assert all(s.size is not None and s.size < result.job.size for s in result.skips)


def test_progress_reports_unique_contents(site: dict[str, Path], cache_dir: Path) -> None:
    calls: list[tuple[int, int]] = []
    jobs = jobs_for(site)
    cache = CompressionCache(cache_dir)
    compress_many(jobs, CompressionOptions(), cache, workers=2, progress=lambda *a: calls.append(a))
    assert calls == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    calls.clear()
    compress_many(jobs, CompressionOptions(), cache, progress=lambda *a: calls.append(a))
    assert calls == [(4, 4)]


def test_unreadable_files_are_reported_together_after_the_rest_is_cached(
    site: dict[str, Path], cache_dir: Path
) -> None:
    missing = CompressJob("1" * 64, site["css/app.css"].with_name("gone.css"), 5000)
    directory = CompressJob("2" * 64, site["css/app.css"].parent, 5000)
    good = jobs_for(site)
    cache = CompressionCache(cache_dir)
    with pytest.raises(BuildError) as info:
        compress_many([missing, *good, directory], CompressionOptions(), cache, workers=1)
    problems = info.value.problems
    assert [(p.code, p.path) for p in problems] == [
        ("unreadable", str(missing.path)),
        ("unreadable", str(directory.path)),
    ]
    assert "No such file or directory" in problems[0].message
    assert "gone.css" in str(problems[0])
    assert not list(cache_dir.rglob(".tmp-*"))
    assert compress_many(good, CompressionOptions(), cache).computed == 0


def test_a_file_that_changed_since_it_was_hashed_is_never_cached(
    site: dict[str, Path], cache_dir: Path
) -> None:
    path = site["css/app.css"]
    stale = job_for(path)
    path.write_bytes(path.read_bytes().replace(b"color", b"COLOR"))  # same size
    grown = CompressJob(stale.digest, path, stale.size - 10)
    shrunk = CompressJob(stale.digest, path, stale.size + 10)
    for job in (stale, grown, shrunk):
        with pytest.raises(BuildError) as info:
            compress_many([job], CompressionOptions(), CompressionCache(cache_dir))
        (problem,) = info.value.problems
        assert (problem.code, problem.path) == ("changed-during-build", str(path))
    assert [p for p in cache_dir.rglob("*") if p.is_file() and p.name != "CACHEDIR.TAG"] == []


def test_an_unwritable_cache_is_a_target_error(site: dict[str, Path], tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache should be")
    with pytest.raises(TargetError) as info:
        compress_many(jobs_for(site), CompressionOptions(), CompressionCache(blocker / "cache"))
    assert info.value.path == str(blocker / "cache")
    assert "compression cache" in info.value.message


def test_bad_arguments(site: dict[str, Path], cache_dir: Path) -> None:
    cache = CompressionCache(cache_dir)
    with pytest.raises(ConfigError, match="workers"):
        compress_many([], CompressionOptions(), cache, workers=0)
    with pytest.raises(ValueError, match="sha256"):
        compress_many([("abc", site["css/app.css"], 10)], CompressionOptions(), cache)
    with pytest.raises(ValueError, match="size"):
        compress_many([("a" * 64, site["css/app.css"], -1)], CompressionOptions(), cache)


def test_plain_tuples_are_accepted_as_jobs(site: dict[str, Path], cache_dir: Path) -> None:
    job = job_for(site["css/app.css"])
    run = compress_many(
        [(job.digest, str(job.path), job.size)], CompressionOptions(), CompressionCache(cache_dir)
    )
    assert run.results[0].job == job


def test_tasks_in_flight_stay_within_the_memory_budget(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A big task runs alone or beside small ones; every file is still compressed."""
    sizes = [64_000, 60_000, 3_000, 2_000, 1_500, 1_200, 1_000, 900]
    jobs = []
    for index, size in enumerate(sizes):
        path = tmp_path / f"f{index}.css"
        path.write_text(css_text(size // 40 + 10, seed=index)[:size])
        jobs.append(job_for(path))
    # Pretend each encoder takes as many bytes as its input, within a budget of 70,000:
    # the two big files (and a big one with another's encodings) never run together.
    monkeypatch.setattr(engine, "memory_of", lambda _encoding, _level, size: size)
    monkeypatch.setattr(engine, "MEMORY_BUDGET", 70_000)
    lock, in_flight, peaks = threading.Lock(), [0], []
    real = engine.run_task

    def tracked(task: Task, max_ratio: float) -> Outcome:
        with lock:
            in_flight[0] += task.size
            peaks.append(in_flight[0])
        try:
            time.sleep(0.01)  # long enough for the other workers to start something
            return real(task, max_ratio)
        finally:
            with lock:
                in_flight[0] -= task.size

    monkeypatch.setattr(engine, "run_task", tracked)
    run = compress_many(jobs, CompressionOptions(), CompressionCache(cache_dir), workers=4)
    assert max(peaks) <= 70_000
    assert max(peaks) > 64_000  # a big file did run beside small ones
    assert run.computed == len(jobs) * len(ALL)
    assert all(len(result.variants) == len(ALL) for result in run)


def test_a_task_bigger_than_the_budget_still_runs_alone(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.css"
    path.write_text(css_text(400))
    monkeypatch.setattr(engine, "MEMORY_BUDGET", 1)
    run = compress_many([job_for(path)], CompressionOptions(), CompressionCache(cache_dir))
    assert [len(result.variants) for result in run] == [len(ALL)]
