"""Worker processes that stage and scan: same results as in-process, any failure harmless."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import corral.fingerprint.engine
import corral.fork
import corral.state
import corral.workers
from corral import BuildError, Config, collect
from corral.digest import Digests
from corral.fingerprint import FileFacts, FingerprintOptions
from corral.fingerprint.scan import Found, find
from corral.workers import WorkerPool

from .conftest import (
    collect_in_fresh_interpreter,
    config_for,
    served_files,
    snapshot,
    state_path,
    write_tree,
)

TREE = {
    "css/app.css": '@import "base.css";\nbody { background: url(../img/bg.png) }\n',
    "css/base.css": ".a { background: url(missing.png) }\n",
    "css/plain.css": ".b { color: red }\n",
    "img/bg.png": b"\x89PNG fake",
    "js/app.js": 'import { x } from "./lib.js";\n//# sourceMappingURL=app.js.map\n',
    "js/app.js.map": '{"version":3,"file":"app.js","sources":[],"mappings":""}',
    "js/lib.js": "export const x = 1;\n",
    "js/legacy.js": "var a = 1;\n",
    "js/latin1.js": b"var s = '\xe9';\n",
}


def jobs(base: Path) -> list[tuple[str, str, int]]:
    return [
        (logical, str(base / logical), (base / logical).stat().st_size)
        for logical in TREE
        if logical.endswith((".css", ".js", ".map"))
    ]


def scan(
    listed: list[tuple[str, str, int]], options: FingerprintOptions, *, workers: int
) -> dict[str, Found]:
    pool = WorkerPool(TREE.keys(), options, workers=workers)
    pool.scan(listed)
    return dict(pool.results())


@pytest.mark.parametrize("workers", [1, 2])
def test_workers_find_what_the_main_process_finds(tmp_path: Path, workers: int) -> None:
    base = write_tree(tmp_path / "src", TREE)
    options = FingerprintOptions()
    found = scan(jobs(base), options, workers=workers)
    expected = {}
    for logical, path, _ in jobs(base):
        result = find(logical, Path(path).read_bytes(), TREE.keys(), options)
        if result is not None:
            expected[logical] = result
    assert found == expected
    assert "js/latin1.js" not in found  # not UTF-8: left for the engine to report
    assert {link.target.logical for link in found["css/app.css"].links} == {
        "css/base.css",
        "img/bg.png",
    }
    assert [m.resolved for m in found["css/base.css"].missing] == ["css/missing.png"]
    assert found["js/legacy.js"].links == ()


def test_an_unreadable_file_is_left_out(tmp_path: Path) -> None:
    base = write_tree(tmp_path / "src", TREE)
    listed = [*jobs(base), ("js/gone.js", str(base / "js/gone.js"), 10)]
    found = scan(listed, FingerprintOptions(), workers=1)
    assert "js/gone.js" not in found
    assert "css/app.css" in found


def hashing_config(project: Path, **kwargs: object) -> Config:
    """Fingerprinting on (compression off), the missing image only a warning."""
    options: dict[str, object] = {
        "hash": True,
        "missing": {"url": "warn"},
        "ignore": ("js/latin1.js",),
        **kwargs,
    }
    return config_for(project, "assets", **options)


def _die(task: list[tuple[str, str]]) -> list[object]:
    os._exit(3)  # a worker killed mid-task (OOM killer, SIGKILL)


def test_a_dead_worker_gives_no_results_not_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = write_tree(tmp_path / "src", TREE)
    monkeypatch.setattr(corral.workers, "_scan_task", _die)
    assert scan(jobs(base), FingerprintOptions(), workers=2) == {}


def test_a_dead_worker_costs_only_the_speed_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(tmp_path / "assets", TREE)
    config = hashing_config(tmp_path)
    collect(config)
    expected = served_files(config.root)

    monkeypatch.setattr(corral.workers, "MIN_SCAN_BYTES", 0)
    monkeypatch.setattr(corral.workers, "_scan_task", _die)
    again = hashing_config(tmp_path, root=tmp_path / "root2")
    collect(again)
    assert served_files(again.root) == expected


def test_collect_with_the_pool_publishes_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(corral.state, "RACY_NS", 0)  # the sources are trusted at once
    write_tree(tmp_path / "assets", TREE)
    in_process = hashing_config(tmp_path)
    collect(in_process)

    used: list[int] = []
    real_init = WorkerPool.__init__

    def counting_init(self: WorkerPool, *args: object, **kwargs: object) -> None:
        used.append(1)
        real_init(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(corral.workers, "MIN_SCAN_BYTES", 0)
    monkeypatch.setattr(WorkerPool, "__init__", counting_init)
    pooled = hashing_config(tmp_path, root=tmp_path / "pooled")
    report = collect(pooled)
    if (os.cpu_count() or 1) > 1 and corral.fork.usable():
        assert used, "the pool was not used"
    assert served_files(pooled.root) == served_files(in_process.root)
    assert [w.logical_path for w in report.warnings] == ["css/base.css"]  # missing.png

    # A re-run with nothing changed starts no pool and writes nothing.
    used.clear()
    before = snapshot(pooled.root)
    collect(pooled)
    assert used == []
    assert snapshot(pooled.root) == before


def test_no_pool_while_another_thread_runs() -> None:
    # A forked worker would inherit any lock the other thread holds.
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert not corral.fork.usable()
    finally:
        release.set()
        other.join()


def test_a_no_change_run_loads_neither_the_pool_nor_the_tokenizers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(corral.state, "RACY_NS", 0)
    write_tree(tmp_path / "assets", TREE)
    collect(hashing_config(tmp_path))
    loaded = collect_in_fresh_interpreter(
        tmp_path,
        "compress=False, missing={'url': 'warn'}, ignore=('js/latin1.js',)",
    )["modules"]
    assert isinstance(loaded, list)
    assert [
        m for m in ("corral.workers", "corral.references", "multiprocessing") if m in loaded
    ] == []


# --- staging a first run's small files -----------------------------------------------------

MANY = {f"icons/{i:03d}.svg": f"<svg id='{i % 40}'/>\n" for i in range(120)}  # twins too


def _count_pools(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    used: list[int] = []
    real_init = WorkerPool.__init__

    def counting_init(self: WorkerPool, *args: object, **kwargs: object) -> None:
        used.append(1)
        real_init(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(WorkerPool, "__init__", counting_init)
    return used


@pytest.mark.parametrize("hashing", [False, True])
def test_workers_stage_a_first_run_as_this_process_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hashing: bool
) -> None:
    write_tree(tmp_path / "assets", {**TREE, **MANY})
    here = hashing_config(tmp_path, hash=hashing, file_mode=0o640)
    collect(here)

    monkeypatch.setattr(corral.workers, "MIN_STAGE_FILES", 0)
    used = _count_pools(monkeypatch)
    there = hashing_config(tmp_path, hash=hashing, file_mode=0o640, root=tmp_path / "pooled")
    report = collect(there)
    if (os.cpu_count() or 1) > 1 and corral.fork.usable():
        assert used, "the pool was not used"
    assert served_files(there.root) == served_files(here.root)
    assert sorted(report.new) == sorted(set(TREE) - {"js/latin1.js"} | set(MANY))
    for path in there.root.rglob("*"):
        if path.is_file():
            assert path.stat().st_mode & 0o777 == 0o640, path
    # The state trusts what the workers staged: nothing to do next time.
    again = collect(there)
    assert not again.published and again.new == again.changed == again.repaired == []


def test_a_file_no_worker_could_stage_is_staged_by_the_main_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(tmp_path / "assets", {**TREE, **MANY})
    here = hashing_config(tmp_path)
    collect(here)

    real_write = corral.workers.write_new

    def flaky_write(path: str, data: bytes, mode: int | None = None) -> tuple[int, int, int]:
        identity = real_write(path, data, mode)  # written, then the disk "fills up"
        if path.endswith("7.svg"):
            raise OSError(28, "No space left on device")
        return identity

    monkeypatch.setattr(corral.workers, "MIN_STAGE_FILES", 0)
    monkeypatch.setattr(corral.workers, "write_new", flaky_write)
    there = hashing_config(tmp_path, root=tmp_path / "pooled")
    collect(there)
    assert served_files(there.root) == served_files(here.root)
    assert not list((state_path(there.root) / "tmp").iterdir())  # no half-staged leftovers


def test_a_file_changing_size_as_a_worker_reads_it_is_named_by_the_main_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The worker that finds a size other than the scan's leaves the file to the main
    # process, which reads it again and reports it: named, nothing published.
    write_tree(tmp_path / "assets", {**TREE, **MANY})
    real_digest = corral.workers.digest_file

    def growing(path: str, **kwargs: Any) -> tuple[Digests, bytes | None]:
        if path.endswith("icons/007.svg"):
            with open(path, "ab") as fh:
                fh.write(b"<!-- more -->\n")
        return real_digest(path, **kwargs)

    monkeypatch.setattr(corral.workers, "MIN_STAGE_FILES", 0)
    monkeypatch.setattr(corral.workers, "digest_file", growing)
    used = _count_pools(monkeypatch)
    config = hashing_config(tmp_path)
    with pytest.raises(BuildError) as caught:
        collect(config)
    if (os.cpu_count() or 1) > 1 and corral.fork.usable():
        assert used, "the pool was not used"
    [problem] = caught.value.problems
    assert (problem.code, problem.path) == (
        "changed-during-build",
        str(tmp_path / "assets/icons/007.svg"),
    )
    assert not config.root.exists() or served_files(config.root) == {}
    monkeypatch.setattr(corral.workers, "digest_file", real_digest)
    collect(config)
    assert served_files(config.root)["icons/007.svg"].endswith(b"<!-- more -->\n")


def _die_staging(task: object, sri: object, mode: object) -> list[object]:
    os._exit(3)


def test_a_dead_staging_worker_costs_only_the_speed_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(tmp_path / "assets", {**TREE, **MANY})
    here = hashing_config(tmp_path)
    collect(here)

    monkeypatch.setattr(corral.workers, "MIN_STAGE_FILES", 0)
    monkeypatch.setattr(corral.workers, "_stage_task", _die_staging)
    there = hashing_config(tmp_path, root=tmp_path / "pooled")
    collect(there)
    assert served_files(there.root) == served_files(here.root)


def test_only_a_first_run_into_an_empty_root_stages_in_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(tmp_path / "assets", MANY)
    config = config_for(tmp_path, "assets")
    collect(config)
    for name in MANY:
        (tmp_path / "assets" / name).write_text("<svg/>\n")  # every file changed
    monkeypatch.setattr(corral.workers, "MIN_STAGE_FILES", 0)
    used = _count_pools(monkeypatch)
    report = collect(config)
    assert sorted(report.changed) == sorted(MANY)
    assert used == []  # staged one by one over the live release, in this process


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_a_killed_first_run_takes_its_workers_with_it(tmp_path: Path) -> None:
    write_tree(
        tmp_path / "assets", {f"icons/{i:03d}.svg": f"<svg id='{i}'/>\n" for i in range(400)}
    )
    marker = f"corral-kill-test-{os.getpid()}-{tmp_path.name}"
    root = tmp_path / "static_root"
    script = (
        f"# {marker}\n"
        "import time, corral.workers\n"
        "from pathlib import Path\n"
        "from corral import Config, DirectorySource, collect\n"
        "corral.workers.MIN_STAGE_FILES = 0\n"
        "real = corral.workers.write_new\n"
        "def slow(path, data, mode=None):\n"
        "    time.sleep(0.02)\n"
        "    return real(path, data, mode)\n"
        "corral.workers.write_new = slow\n"
        f"p = Path({str(tmp_path)!r})\n"
        "collect(Config(sources=(DirectorySource(p / 'assets'),), root=p / 'static_root',"
        " project_root=p, hash=False, compress=False))\n"
    )
    run = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 20
    while not list(state_path(root).glob("tmp/tree-*/icons/*.svg")):
        assert run.poll() is None and time.monotonic() < deadline, "staging never started"
        time.sleep(0.01)
    run.kill()
    run.wait()
    deadline = time.monotonic() + 5
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_with(marker) == []  # no orphan worker still writing
    assert served_files(root) == {}  # killed while staging: nothing was published

    report = collect(config_for(tmp_path, "assets"))
    assert len(report.new) == 400
    assert not list((state_path(root) / "tmp").iterdir())


def _stage_lazily(tmp_path: Path, count: int) -> tuple[list[int], set[str], Path]:
    """Stage ``count`` files of 60 bytes through jobs made one at a time; return how many
    files were with the workers as each job was made, what was staged, and where."""
    names = [f"f{i}.txt" for i in range(count)]
    src = write_tree(tmp_path / "src", {name: name * 10 for name in names})
    out = tmp_path / "out"
    out.mkdir()
    pool = WorkerPool(set(names))
    handed_out: list[int] = []  # files already with the workers as each job is made

    def made_lazily() -> Iterator[tuple[str, str, str, int]]:
        for name in names:
            handed_out.append(len(pool.staging))
            yield name, str(src / name), str(out / name), 60

    try:
        pool.stage(made_lazily(), sri=None, mode=None)
        staged = {logical for logical, _, _ in pool.staged()}
    finally:
        pool.close()
    assert staged == set(names)
    return handed_out, staged, out


def test_staging_tasks_go_out_while_later_jobs_are_still_being_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(corral.workers, "_STAGE_TASK_FILES", 3)
    handed_out, staged, out = _stage_lazily(tmp_path, 8)
    assert handed_out == [0, 0, 0, 3, 3, 3, 6, 6]  # a task leaves as soon as it is full
    assert sorted(p.name for p in out.iterdir()) == sorted(staged)
    assert (out / "f5.txt").read_text() == "f5.txt" * 10


def test_a_staging_task_leaves_when_its_files_reach_the_task_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(corral.workers, "_TASK_BYTES", 100)
    handed_out, _, _ = _stage_lazily(tmp_path, 5)
    assert handed_out == [0, 0, 2, 2, 4]  # 120 bytes fill a task: two files each


@pytest.mark.parametrize("workers", [1, 2])
def test_staging_workers_find_what_the_main_process_finds(tmp_path: Path, workers: int) -> None:
    base = write_tree(tmp_path / "src", TREE)
    out = tmp_path / "out"
    for sub in ("css", "img", "js"):
        (out / sub).mkdir(parents=True)
    options = FingerprintOptions()
    pool = WorkerPool(TREE.keys(), options, workers=workers)
    try:
        pool.stage(
            (
                (name, str(base / name), str(out / name), (base / name).stat().st_size)
                for name in TREE
            ),
            sri="sha256",
            mode=None,
        )
        staged = {logical for logical, _, _ in pool.staged()}
        found = pool.results()
    finally:
        pool.close()
    assert staged == set(TREE)
    expected = {}
    for logical, path, _ in jobs(base):
        result = find(logical, Path(path).read_bytes(), TREE.keys(), options)
        if result is not None:
            expected[logical] = result
    assert found == expected  # every text file, found while it was staged
    assert "js/latin1.js" not in found  # not UTF-8: left for the engine to report
    assert [m.resolved for m in found["css/base.css"].missing] == ["css/missing.png"]


def test_a_first_run_scans_and_names_each_file_in_the_worker_that_staged_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if (os.cpu_count() or 1) < 2 or not corral.fork.usable():
        pytest.skip("no worker pool on one core")
    write_tree(tmp_path / "assets", {**TREE, **MANY})
    monkeypatch.setattr(corral.workers, "MIN_STAGE_FILES", 0)
    monkeypatch.setattr(corral.workers, "MIN_SCAN_BYTES", 0)
    scan_tasks: list[int] = []
    real_submit = WorkerPool._submit

    def counting_submit(self: WorkerPool, fn: object, *args: object) -> object:
        if fn is corral.workers._scan_task:
            scan_tasks.append(1)
        return real_submit(self, fn, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(WorkerPool, "_submit", counting_submit)
    scanned_here: list[str] = []
    real_scan = corral.fingerprint.engine.scan

    def counting_scan(logical: str, *args: object) -> object:
        scanned_here.append(logical)
        return real_scan(logical, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(corral.fingerprint.engine, "scan", counting_scan)
    named_here: list[str] = []  # in this process (the workers' calls stay in theirs)
    real_record = corral.fingerprint.engine.copied_record

    def counting_record(facts: FileFacts, *args: object, **kwargs: object) -> object:
        named_here.append(facts.logical)
        return real_record(facts, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(corral.fingerprint.engine, "copied_record", counting_record)
    config = hashing_config(tmp_path)
    report = collect(config)
    assert scan_tasks == []  # nothing was left to scan separately...
    assert scanned_here == []  # ...nor for the engine to tokenize again
    assert not set(named_here) & set(MANY)  # the images were named by their workers
    assert report.rewrites  # and the references were still found and rewritten
    assert {r[0] for r in report.rewrites} >= {"css/app.css", "js/app.js"}
