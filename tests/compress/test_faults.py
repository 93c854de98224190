"""Concurrent runs, a writer killed mid-write, a full disk: never a servable bad entry."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import pytest

from corral.compress import CompressionCache, CompressionOptions, compress_many
from corral.errors import TargetError

from .conftest import css_text, decode, job_for, noise

# Runs compress_many in a fresh interpreter: argv = cache dir, options as JSON, files.
WORKER = """
import json, sys
from pathlib import Path
from tests.compress.conftest import job_for
from corral.compress import CompressionCache, CompressionOptions, compress_many
cache, options, *files = sys.argv[1:]
run = compress_many([job_for(Path(f)) for f in files], CompressionOptions(**json.loads(options)),
                    CompressionCache(cache))
print(json.dumps([[v.encoding, v.integrity, str(v.path)] for r in run for v in r.variants]))
"""
ROOT = Path(__file__).resolve().parents[2]


def start(
    cache: Path, options: Mapping[str, object], *files: Path, output: bool = True
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, str(cache), json.dumps(options), *map(str, files)],
        cwd=ROOT,
        stdout=subprocess.PIPE if output else subprocess.DEVNULL,
        text=True,
    )


def servable(cache: Path) -> list[Path]:
    """Cache files a lookup would consider: everything but temporary dot-files."""
    return [p for p in cache.rglob("*") if p.is_file() and not p.name.startswith(".")]


def test_two_runs_at_once_on_one_cache_both_get_correct_variants(
    site: dict[str, Path], cache_dir: Path
) -> None:
    files = [site[name] for name in ("css/app.css", "js/app.js", "img/logo.svg")]
    runs = [start(cache_dir, {}, *files), start(cache_dir, {}, *reversed(files))]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0]
    first, second = (sorted(json.loads(out)) for out in outputs)
    assert first == second and len(first) == 9
    originals = {job_for(f).digest: f.read_bytes() for f in files}
    for encoding, _integrity, path in first:
        digest = Path(path).parent.name
        assert decode(encoding, Path(path).read_bytes()) == originals[digest]
    assert len(servable(cache_dir)) == 9 + 1  # and CACHEDIR.TAG
    assert (
        compress_many(
            [job_for(f) for f in files], CompressionOptions(), CompressionCache(cache_dir)
        ).computed
        == 0
    )


@pytest.mark.slow
def test_a_writer_killed_mid_write_leaves_nothing_servable(tmp_path: Path, cache_dir: Path) -> None:
    big = tmp_path / "big.css"
    big.write_text(css_text(15_000) * 4)  # ~4.5 MB: about a second of gzip 9, streamed
    options = {"brotli": False, "zstd": False}
    run = start(cache_dir, options, big, output=False)
    deadline = time.monotonic() + 60
    temps: list[Path] = []
    while time.monotonic() < deadline and not any(t.stat().st_size for t in temps if t.exists()):
        temps = list(cache_dir.rglob(".tmp-*"))
        time.sleep(0.02)
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    assert run.returncode == -signal.SIGKILL
    assert temps, "the writer never started writing"
    assert [p.name for p in servable(cache_dir)] == ["CACHEDIR.TAG"]

    job = job_for(big)
    cache = CompressionCache(cache_dir)
    assert cache.lookup(job.digest, "gzip", 9) is None
    opts = CompressionOptions(brotli=False, zstd=False)
    rerun = compress_many([job], opts, cache)
    assert rerun.computed == 1
    assert decode("gzip", rerun.results[0].variants[0].path.read_bytes()) == big.read_bytes()

    an_hour_ago = time.time() - 3700
    for temp in cache_dir.rglob(".tmp-*"):
        os.utime(temp, (an_hour_ago, an_hour_ago))
    assert cache.prune({job.digest}).files >= 1
    assert not list(cache_dir.rglob(".tmp-*"))


def test_a_full_disk_is_a_target_error_and_leaves_no_partial_entry(
    tmpfs: Path,
    tmp_path: Path,
) -> None:
    blob = tmp_path / "blob.bin"
    # Hex text: compressible enough to pass the probe, yet its variants (about half
    # its size) can't fit in the 1 MiB disk.
    blob.write_bytes(noise(3 << 19).hex().encode())
    small = tmp_path / "small.css"
    small.write_text(css_text(100))
    cache_dir = tmpfs / "cache"
    options = CompressionOptions(max_ratio=1.0, brotli_level=1, zstd_level=1)
    with pytest.raises(TargetError) as info:
        compress_many([job_for(blob), job_for(small)], options, CompressionCache(cache_dir))
    assert "No space left on device" in info.value.message
    assert info.value.path == str(cache_dir)
    assert list(cache_dir.rglob(".tmp-*")) == []
    cache = CompressionCache(cache_dir)
    for encoding, level in options.encodings():
        assert cache.lookup(job_for(blob).digest, encoding, level) is None
