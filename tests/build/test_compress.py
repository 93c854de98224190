"""Precompressed variants inside a real collect: made once, verified, published, pruned."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import brotli
import pytest
import zstandard

import corral.compress as engine
import corral.state
from corral import check, clean, collect
from corral.build.manifests import CORRAL_MANIFEST, DJANGO_MANIFEST
from corral.compress import CachedVariant, CompressionCache
from corral.compress.encoders import library_tag
from corral.compress.maintenance import prune_cache

from ..compress.test_place import _other_file_system
from ..conftest import (
    collect_in_fresh_interpreter,
    config_for,
    served_files,
    snapshot,
    state_path,
    write_tree,
)

CSS = "".join(f".rule-{n} {{ color: #{n:06x}; margin: {n}px; }}\n" for n in range(400))
DECODE = {
    ".gz": gzip.decompress,
    ".br": brotli.decompress,
    ".zst": lambda data: zstandard.ZstdDecompressor().decompress(data),
}


@pytest.fixture
def site(tmp_path: Path) -> Path:
    write_tree(
        tmp_path / "assets",
        {
            "css/app.css": CSS + "body { background: url(../img/bg.png) }\n",
            "css/plain.css": CSS,
            "img/bg.png": os.urandom(4096),  # already compressed media: no variants
            "img/icon.svg": "<svg>" + "<path d='M0 0L10 10'/>" * 100 + "</svg>",
            "tiny.js": "1",  # under the size threshold
        },
    )
    return tmp_path


def sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def test_variants_decompress_to_the_exact_file_and_are_in_the_manifest(site: Path) -> None:
    report = collect(config_for(site, "assets", hash=True, compress=True))
    root = site / "static_root"
    files = served_files(root)
    variants = sorted(p for p in files if p.endswith((".gz", ".br", ".zst")))
    paths = json.loads(files[DJANGO_MANIFEST])["paths"]
    expected_bases = {"css/app.css", "css/plain.css", "img/icon.svg"}
    expected_bases |= {paths[p] for p in expected_bases}
    assert {v.rsplit(".", 1)[0] for v in variants} == expected_bases
    for variant in variants:
        base, ext = variant.rsplit(".", 1)
        assert DECODE["." + ext](files[variant]) == files[base], variant
    manifest = json.loads(files[CORRAL_MANIFEST])
    encodings = manifest["files"]["css/app.css"]["encodings"]
    assert sorted(encodings) == ["br", "gzip", "zstd"]
    for entry in encodings.values():
        data = files[entry["path"]]
        assert entry["size"] == len(data) and entry["integrity"] == sri(data)
        assert entry["path"].startswith(paths["css/app.css"])
    assert manifest["files"]["img/bg.png"]["encodings"] == {}
    assert report.compressed > 0


def test_identical_contents_are_compressed_once_and_kept_between_runs(site: Path) -> None:
    config = config_for(site, "assets", hash=True, compress=True)
    first = collect(config)
    # plain.css has no references: it and its hashed copy share one content
    contents = {"css/app.css", "css/app.hashed", "css/plain.css", "img/icon.svg"}
    assert first.compressed == 3 * len(contents)
    before = snapshot(site / "static_root")
    again = collect(config)
    assert again.compressed == 0 and not again.published
    assert snapshot(site / "static_root") == before
    (site / "assets/css/plain.css").write_text(CSS + "/* edited */\n")
    third = collect(config)
    assert third.compressed == 3  # one new content, three encodings
    assert third.compress_cache_hits > 0 or third.compressed == 3


def test_a_no_change_run_loads_no_encoder(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A no-change run compares the compression options with the last run's, and that is
    # all it needs of compression: the encoders, the cache and the engine stay unloaded
    # (``location`` answers whether an older version's cache is left to remove).
    monkeypatch.setattr(corral.state, "RACY_NS", 0)
    collect(config_for(site, "assets", hash=True, compress=True))
    run = collect_in_fresh_interpreter(site, "hash=True, compress=True")
    assert not run["published"] and not run["state_written"]
    loaded = run["modules"]
    assert isinstance(loaded, list)
    assert [
        m for m in loaded if m.startswith("corral.compress.") or m in ("brotli", "zstandard")
    ] == ["corral.compress.location", "corral.compress.policy"]


def test_output_is_deterministic(site: Path, tmp_path: Path) -> None:
    collect(config_for(site, "assets", hash=True, compress=True))
    first = served_files(site / "static_root")
    other = tmp_path / "again"
    write_tree(other / "assets", {k: v for k, v in _sources(site).items()})
    collect(config_for(other, "assets", hash=True, compress=True))
    assert served_files(other / "static_root") == first


def _sources(site: Path) -> dict[str, bytes]:
    return {
        p.relative_to(site / "assets").as_posix(): p.read_bytes()
        for p in (site / "assets").rglob("*")
        if p.is_file()
    }


def test_corrupt_cache_entry_is_detected_and_never_published(
    site: Path, shared_cache: Path
) -> None:
    config = config_for(site, "assets", hash=False, compress=True)
    collect(config)
    root = site / "static_root"
    entries = sorted(shared_cache.rglob("*.br"))
    assert entries
    published = {p: data for p, data in served_files(root).items() if p.endswith(".br")}
    assert published
    # Break every cached brotli entry in place (the same inode: what a stray writer
    # would do, after a chmod). The published variants are hard links to the entries:
    # they change too (the residual risk the docs name).
    for entry in entries:
        entry.chmod(0o644)
        when = entry.stat().st_mtime_ns + 10**9  # a write a second later (not in the same tick)
        with entry.open("r+b") as handle:
            handle.seek(-3, os.SEEK_END)
            handle.write(b"bad")
        os.utime(entry, ns=(when, when))
    assert {p: d for p, d in served_files(root).items() if p.endswith(".br")} != published
    # A fresh root must take them from the cache: they are found bad and recomputed.
    fresh = config_for(site, "assets", hash=False, compress=True, root=site / "fresh_root")
    report = collect(fresh)
    assert report.compressed == len(published)  # recomputed, not taken from the bad entries
    assert {p: d for p, d in served_files(site / "fresh_root").items() if p.endswith(".br")} == (
        published
    )
    # The written-into files no longer match their records: the next run replaces them
    # (from the entries the fresh root recomputed).
    again = collect(config)
    assert again.compressed == 0
    assert {p: d for p, d in served_files(root).items() if p.endswith(".br")} == published


def _variants(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in (".gz", ".br", ".zst"))


def _entries(cache: Path) -> dict[int, Path]:
    return {p.stat().st_ino: p for p in cache.rglob("*") if p.suffix in (".gz", ".br", ".zst")}


def test_a_fresh_root_with_a_warm_cache_compresses_nothing(site: Path, shared_cache: Path) -> None:
    # The container / CI case: the target is new on every deploy, the cache is not.
    first = collect(config_for(site, "assets", hash=True, compress=True))
    assert first.compressed > 0
    for name in ("fresh", "fresher"):
        config = config_for(site, "assets", hash=True, compress=True, root=site / name)
        report = collect(config)
        assert report.compressed == 0
        assert report.compress_cache_hits == first.compressed
        assert served_files(site / name) == served_files(site / "static_root")
    # Cache and targets share a file system: every variant is a hard link to its entry.
    cached = _entries(shared_cache)
    published = _variants(site / "fresh")
    assert published and {p.stat().st_ino for p in published} <= set(cached)
    for variant in published:
        assert variant.stat().st_nlink >= 4  # the entry, and a name in each of three roots
        assert variant.stat().st_mode & 0o222 == 0  # read-only, as the entry
    assert all(p.stat().st_mode & 0o777 == 0o444 for p in cached.values())  # untouched


def test_a_cache_on_another_file_system_gives_the_same_bytes_as_copies(
    site: Path, shared_cache: Path
) -> None:
    # A container build's cache mount is another file system: link(2) fails with EXDEV
    # (once per run), and the variants are copies with exactly the linked run's bytes.
    collect(config_for(site, "assets", hash=True, compress=True))
    linked = served_files(site / "static_root")
    other = _other_file_system(site)
    try:
        config = config_for(
            site, "assets", hash=True, compress=True, root=site / "copied", cache_dir=other
        )
        assert collect(config).compressed > 0
        assert served_files(site / "copied") == linked
        again = config_for(
            site, "assets", hash=True, compress=True, root=site / "copied2", cache_dir=other
        )
        assert collect(again).compressed == 0
        assert served_files(site / "copied2") == linked
        variants = _variants(site / "copied2")
        assert variants and all(p.stat().st_nlink <= 2 for p in variants)  # twins only
        assert not {p.stat().st_ino for p in variants} & set(_entries(other))
    finally:
        shutil.rmtree(other)


def test_pruning_the_cache_leaves_a_linked_target_intact(site: Path, shared_cache: Path) -> None:
    collect(config_for(site, "assets", hash=True, compress=True))
    config = config_for(site, "assets", hash=True, compress=True, root=site / "fresh")
    collect(config)
    before = served_files(site / "fresh")
    links = {p: p.stat().st_nlink for p in _variants(site / "fresh")}
    stats = prune_cache(CompressionCache(shared_cache / "compress"), max_size=0)
    assert stats.files > 0 and not _entries(shared_cache)
    assert served_files(site / "fresh") == before  # the target's links keep the bytes
    assert links and {p: p.stat().st_nlink + 1 for p in links} == links  # the entry's name
    assert check(config).ok
    again = collect(config)
    assert not again.published and again.repaired == [] and again.compressed == 0


def test_no_cache_links_its_private_entries_with_the_file_mode(site: Path) -> None:
    config = config_for(site, "assets", hash=True, compress=True, cache=False, file_mode=0o640)
    report = collect(config)
    assert report.compressed > 0
    variants = _variants(site / "static_root")
    assert variants and all(p.stat().st_mode & 0o777 == 0o640 for p in variants)
    assert not list((state_path(site / "static_root") / "tmp").glob("nocache-*"))
    assert not collect(config).published


def test_variants_from_a_warm_cache_get_the_exact_mode_and_stay_trusted(
    site: Path, shared_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A file_mode other than the entries' (0o444) makes copies: a chmod of a hard link
    # would change the shared entry. The copies (and the hard links between twins) are
    # recorded with the identity the copy returned: the next run must trust them.
    monkeypatch.setattr(corral.state, "RACY_NS", 0)
    collect(config_for(site, "assets", hash=True, compress=True))
    old = os.umask(0o077)
    try:
        config = config_for(
            site, "assets", hash=True, compress=True, root=site / "fresh", file_mode=0o640
        )
        first = collect(config)
        again = collect(config)
    finally:
        os.umask(old)
    assert first.compressed == 0 and first.compress_cache_hits > 0
    variants = [p for p in (site / "fresh").rglob("*") if p.suffix in (".gz", ".br", ".zst")]
    assert variants
    for variant in variants:
        assert variant.stat().st_mode & 0o777 == 0o640, variant
    assert not {p.stat().st_ino for p in variants} & set(_entries(shared_cache))
    assert all(p.stat().st_mode & 0o777 == 0o444 for p in _entries(shared_cache).values())
    assert not again.published and not again.state_written and again.repaired == []
    assert served_files(site / "fresh") == served_files(site / "static_root")


def test_the_cache_dir_setting_and_no_cache(site: Path, shared_cache: Path) -> None:
    elsewhere = site / "my-cache"
    report = collect(config_for(site, "assets", hash=False, compress=True, cache_dir=elsewhere))
    assert report.compressed > 0 and sorted(elsewhere.rglob("*.br"))
    assert not sorted(shared_cache.rglob("*.br"))  # the setting beats the environment
    uncached = config_for(site, "assets", hash=False, compress=True, root=site / "b", cache=False)
    assert collect(uncached).compressed == report.compressed  # no cache: computed again
    assert not sorted(shared_cache.rglob("*.br"))
    assert served_files(site / "b") == served_files(site / "static_root")
    assert not list((site / "b/.corral/tmp").glob("nocache-*"))  # its private cache is gone


def test_the_cache_older_versions_kept_in_the_target_is_removed(site: Path) -> None:
    config = config_for(site, "assets", hash=False, compress=True)
    collect(config)
    root = site / "static_root"
    os.rename(state_path(root), root / ".corral")  # the old layout: the state in the root
    legacy = root / ".corral/cache/v1/ab/" / ("ab" * 32)
    legacy.mkdir(parents=True)
    (legacy / "gzip-9-zlib1.2.13.nogain-10").write_bytes(b"")
    (site / "assets/css/plain.css").write_text(CSS + "/* edited */\n")
    collect(config)
    assert not (root / ".corral").exists()
    assert not (state_path(root) / "cache").exists()  # not moved along with the state


def test_cache_max_size_bounds_the_cache_after_a_run(site: Path, shared_cache: Path) -> None:
    collect(config_for(site, "assets", hash=False, compress=True, cache_max_size=0))
    assert not [p for p in shared_cache.rglob("*") if p.is_file() and p.name != "CACHEDIR.TAG"]
    assert [p for p in served_files(site / "static_root") if p.endswith(".br")]


def test_turning_an_encoding_off_publishes_a_release_without_it(site: Path) -> None:
    config = config_for(site, "assets", hash=False, compress=True, keep=None)
    collect(config)
    no_zstd = config_for(site, "assets", hash=False, compress=True, compression={"zstd": False})
    report = collect(no_zstd)
    assert report.published
    clean(no_zstd, keep=0)
    published = served_files(site / "static_root")
    assert not [p for p in published if p.endswith(".zst")]
    assert [p for p in published if p.endswith(".br")]


def test_crash_during_compression_leaves_the_previous_release_intact(
    tmp_path: Path, shared_cache: Path
) -> None:
    write_tree(tmp_path / "src", {"a.css": CSS})
    root = tmp_path / "out"
    args = [sys.executable, "-m", "corral", "collect", "--root", str(root), "--source", "src"]
    subprocess.run(args, cwd=tmp_path, check=True, capture_output=True)
    before = served_files(root)
    # A big compressible file takes brotli 11 seconds: kill the run while it compresses.
    big = "".join(f"/* {n} {hashlib.md5(str(n).encode()).hexdigest()} */\n" for n in range(60_000))
    write_tree(tmp_path / "src", {"a.css": CSS + "/* v2 */", "big.css": big})
    proc = subprocess.Popen(
        args, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while not _compressing(shared_cache) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before it was seen compressing"
    time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert served_files(root) == before  # nothing of the new release is visible
    done = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    files = served_files(root)
    assert files["big.css"] == big.encode()
    assert brotli.decompress(files["big.css.br"]) == big.encode()


def _compressing(cache: Path) -> bool:
    return any(p.name.startswith(".tmp-") for p in cache.rglob("*"))


def test_variants_of_a_removed_file_leave_with_it(site: Path) -> None:
    config = config_for(site, "assets", hash=False, compress=True, keep=None)
    collect(config)
    (site / "assets/css/plain.css").unlink()
    report = collect(config)
    assert report.removed == ["css/plain.css"] and report.published
    clean(config, keep=0)
    assert not [p for p in served_files(site / "static_root") if p.startswith("css/plain.css")]


def test_an_entry_corrupted_after_its_lookup_is_recomputed_not_published(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    collect(config_for(site, "assets", hash=False, compress=True))
    expected = served_files(site / "static_root")
    real = CompressionCache.lookup_all
    broken: list[Path] = []

    def lookup_then_break(
        self: CompressionCache, digest: str, keys: object, **options: bool
    ) -> object:
        # Another process writes into the entry between our lookup and our copy.
        answers, bad = real(self, digest, keys, **options)  # type: ignore[arg-type]
        for answer in answers:
            if isinstance(answer, CachedVariant) and answer.path.suffix == ".br" and not broken:
                answer.path.chmod(0o644)
                answer.path.write_bytes(b"garbage")
                broken.append(answer.path)
        return answers, bad

    monkeypatch.setattr(CompressionCache, "lookup_all", lookup_then_break)
    report = collect(config_for(site, "assets", hash=False, compress=True, root=site / "fresh"))
    assert broken and report.compressed == 1  # that one variant, computed again
    assert served_files(site / "fresh") == expected


def test_source_maps_get_their_own_levels_by_their_published_name(
    tmp_path: Path, shared_cache: Path
) -> None:
    mapping = json.dumps({"version": 3, "sources": ["a.js"], "mappings": "AAAA;" * 400})
    write_tree(tmp_path / "assets", {"a.js": CSS, "a.js.map": mapping})
    collect(config_for(tmp_path, "assets", hash=False, compress=True))
    names = sorted(p.name for p in shared_cache.rglob("*.br"))
    assert [n.split(".")[0].split("-")[1] for n in names] == ["10", "5"]
    assert all(n.startswith(f"br-{n.split('-')[1]}-{library_tag('br')}.") for n in names)
    served = served_files(tmp_path / "static_root")
    assert brotli.decompress(served["a.js.map.br"]) == mapping.encode()


def test_a_shipped_variant_is_published_as_it_is_and_never_overwritten(tmp_path: Path) -> None:
    # Some vendored packages ship app.css.gz next to app.css: the source's file wins,
    # corral makes no gzip variant of app.css (its hashed copy's variants are made).
    shipped = gzip.compress(b"/* the package's own build */", mtime=0)
    write_tree(tmp_path / "vendor", {"app.css": CSS, "app.css.gz": shipped})
    config = config_for(tmp_path, "vendor", hash=True, compress=True)
    collect(config)
    files = served_files(tmp_path / "static_root")
    assert files["app.css.gz"] == shipped
    assert "app.css.br" in files  # the other encodings are still made
    entry = json.loads(files[CORRAL_MANIFEST])["files"]["app.css"]
    assert len(entry["encodings"]) == 3  # of the hashed copy, which nothing shadows
    assert "app.css.gz" not in [v["path"] for v in entry["encodings"].values()]
    result = check(config)
    assert result.ok
    assert [w.code for w in result.warnings if w.code == "shipped-variant"] == ["shipped-variant"]


def _looked_up(monkeypatch: pytest.MonkeyPatch) -> list[set[str]]:
    """Record the content digests each call of the compression engine is given."""
    calls: list[set[str]] = []
    real = engine.compress_many

    def spy(jobs: list[Any], *args: Any, **kwargs: Any) -> Any:
        calls.append({job.digest for job in jobs})
        return real(jobs, *args, **kwargs)

    monkeypatch.setattr(engine, "compress_many", spy)
    return calls


def test_a_changed_run_looks_up_only_the_changed_contents(
    site: Path, shared_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The files whose bytes did not change keep the last run's variants as they are: a
    # run after a 1% change looks up and places 1% of the contents, not all of them.
    config = config_for(site, "assets", hash=True, compress=True)
    collect(config)
    calls = _looked_up(monkeypatch)
    changed = CSS + "/* edited */\n"
    (site / "assets/css/plain.css").write_text(changed)
    report = collect(config)
    assert report.changed == ["css/plain.css"] and report.compressed == 3
    new = hashlib.sha256(changed.encode()).hexdigest()
    assert calls == [{new}]  # the original and its hashed copy share the content
    # The same release as a fresh root made from scratch with the same sources and cache.
    fresh = collect(config_for(site, "assets", hash=True, compress=True, root=site / "fresh"))
    assert fresh.compressed == 0
    mine, theirs = served_files(site / "static_root"), served_files(site / "fresh")
    manifests = {CORRAL_MANIFEST, DJANGO_MANIFEST}  # they name the release: 2 against 1
    latest = {name: data for name, data in mine.items() if name in theirs}
    assert {n: d for n, d in latest.items() if n not in manifests} == {
        n: d for n, d in theirs.items() if n not in manifests
    }  # the older release's files are kept besides (retention)
    assert set(mine) - set(theirs) <= {n for n in mine if "plain" in n}
    ours, fresh_manifest = (json.loads(files[CORRAL_MANIFEST])["files"] for files in (mine, theirs))
    assert ours == fresh_manifest
    assert check(config).ok


def test_a_shipped_variant_that_goes_away_gets_corrals_own(tmp_path: Path) -> None:
    # The last run made no gzip variant of app.css because the package shipped one; when
    # the package stops shipping it, the next run makes corral's, though app.css is as
    # it was. And when one appears again, corral's makes way for it.
    shipped = gzip.compress(b"/* the package's own build */", mtime=0)
    write_tree(tmp_path / "vendor", {"app.css": CSS, "app.css.gz": shipped})
    config = config_for(tmp_path, "vendor", hash=True, compress=True)
    collect(config)
    (tmp_path / "vendor/app.css.gz").unlink()
    collect(config)
    files = served_files(tmp_path / "static_root")
    assert gzip.decompress(files["app.css.gz"]) == CSS.encode()
    entry = json.loads(files[CORRAL_MANIFEST])["files"]["app.css"]
    assert len(entry["encodings"]) == 3
    (tmp_path / "vendor/app.css.gz").write_bytes(shipped)
    collect(config)
    files = served_files(tmp_path / "static_root")
    assert files["app.css.gz"] == shipped
    assert check(config).ok
