"""Scanning text files in worker processes: same results as in-process, any failure harmless."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import corral.scanpool
import corral.state
from corral import Config, collect
from corral.fingerprint import FingerprintOptions
from corral.fingerprint.scan import find
from corral.scanpool import ScanPool

from .conftest import config_for, served_files, snapshot, write_tree

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


@pytest.mark.parametrize("workers", [1, 2])
def test_workers_find_what_the_main_process_finds(tmp_path: Path, workers: int) -> None:
    base = write_tree(tmp_path / "src", TREE)
    options = FingerprintOptions()
    found = ScanPool(jobs(base), TREE.keys(), options, workers=workers).results()
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
    found = ScanPool(listed, TREE.keys(), FingerprintOptions(), workers=1).results()
    assert "js/gone.js" not in found
    assert "css/app.css" in found


def hashing_config(project: Path, **kwargs: object) -> Config:
    """Fingerprinting on (compression off), the missing image only a warning."""
    return config_for(
        project,
        "assets",
        hash=True,
        missing={"url": "warn"},
        ignore=("js/latin1.js",),
        **kwargs,
    )


def _die(task: list[tuple[str, str]]) -> list[object]:
    os._exit(3)  # a worker killed mid-task (OOM killer, SIGKILL)


def test_a_dead_worker_gives_no_results_not_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = write_tree(tmp_path / "src", TREE)
    monkeypatch.setattr(corral.scanpool, "_scan_task", _die)
    assert ScanPool(jobs(base), TREE.keys(), FingerprintOptions(), workers=2).results() == {}


def test_a_dead_worker_costs_only_the_speed_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(tmp_path / "assets", TREE)
    config = hashing_config(tmp_path)
    collect(config)
    expected = served_files(config.root)

    monkeypatch.setattr(corral.scanpool, "MIN_BYTES", 0)
    monkeypatch.setattr(corral.scanpool, "_scan_task", _die)
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
    real_init = ScanPool.__init__

    def counting_init(self: ScanPool, *args: object, **kwargs: object) -> None:
        used.append(1)
        real_init(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(corral.scanpool, "MIN_BYTES", 0)
    monkeypatch.setattr(ScanPool, "__init__", counting_init)
    pooled = hashing_config(tmp_path, root=tmp_path / "pooled")
    report = collect(pooled)
    if (os.cpu_count() or 1) > 1 and corral.scanpool.usable():
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
        assert not corral.scanpool.usable()
    finally:
        release.set()
        other.join()


def test_a_no_change_run_loads_neither_the_pool_nor_the_tokenizers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(corral.state, "RACY_NS", 0)
    write_tree(tmp_path / "assets", TREE)
    collect(hashing_config(tmp_path))
    script = (
        "import sys, corral.state; from pathlib import Path; corral.state.RACY_NS = 0\n"
        "from corral import Config, DirectorySource, collect\n"
        f"p = Path({str(tmp_path)!r})\n"
        "collect(Config(sources=(DirectorySource(p / 'assets'),), root=p / 'static_root',"
        " project_root=p, compress=False, missing={'url': 'warn'}, ignore=('js/latin1.js',)))\n"
        "print(sorted(m for m in ('corral.scanpool', 'corral.references', 'multiprocessing')"
        " if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
