"""Shared fixtures: small real trees, snapshots of a target, real privileged helpers."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import settings

from corral import Config, DirectorySource
from corral.state import StateDir

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# No per-example time limit for property tests: speed is measured in benchmarks/ (and
# linear time by the complexity tests' ratios), and on a loaded CI machine an example of
# a few hundred ms is load, not a bug (test_names_do_not_depend_on_input_order hit the
# 200 ms default at load 15).
settings.register_profile("corral", deadline=None)
settings.load_profile("corral")


_RECORDERS: list[list[str]] = []


def _audit(event: str, args: tuple[object, ...]) -> None:
    if _RECORDERS and event == "open" and isinstance(args[0], str | bytes):
        _RECORDERS[-1].append(os.fsdecode(args[0]))


sys.addaudithook(_audit)


@contextmanager
def opened_files() -> Iterator[list[str]]:
    """Record every file opened (read or written) in this process meanwhile."""
    _RECORDERS.append([])
    try:
        yield _RECORDERS[-1]
    finally:
        _RECORDERS.pop()


@pytest.fixture(autouse=True)
def shared_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own empty shared compression cache (never the user's own)."""
    directory = tmp_path_factory.mktemp("corral-cache")
    monkeypatch.setenv("CORRAL_CACHE_DIR", str(directory))
    return directory


def need(condition: bool, reason: str) -> None:
    """Skip when a real component is unavailable, but fail in CI: CI must have it."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def write_tree(base: Path, files: Mapping[str, str | bytes]) -> Path:
    """Create ``files`` (relative path -> content) under ``base``; return ``base``."""
    for relpath, content in files.items():
        path = base / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
    base.mkdir(parents=True, exist_ok=True)
    return base


def state_path(root: Path) -> Path:
    """corral's private state directory for ``root`` (the default: outside it)."""
    return StateDir(root).home


def served_files(root: Path) -> dict[str, bytes]:
    """Every file a web server pointed at ``root`` would see (nothing of corral's is
    ever there)."""
    found: dict[str, bytes] = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = Path(dirpath, name)
            found[path.relative_to(root).as_posix()] = path.read_bytes()
    return found


def snapshot(root: Path, *, scratch: bool = True) -> dict[str, tuple[int, int, int, str]]:
    """Identity and content of every entry under ``root``, and of corral's own files
    in its state directory (as ``<state>/...``).

    ``scratch=False`` leaves out the state's ``tmp/`` itself (a failed run may have used
    it and cleaned up after itself; its mtime then differs, its contents don't).
    """
    snap: dict[str, tuple[int, int, int, str]] = {}
    state = state_path(root)
    for top, label in ((root, ""), (state, "<state>/")):
        for dirpath, dirs, files in os.walk(top):
            if not scratch and Path(dirpath) == state:
                dirs[:] = [d for d in dirs if d != "tmp"]
            for name in dirs + files:
                path = Path(dirpath, name)
                st = path.lstat()
                digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
                snap[label + path.relative_to(top).as_posix()] = (
                    st.st_ino,
                    st.st_mtime_ns,
                    st.st_size,
                    digest,
                )
    return snap


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project directory with two sources, ``assets`` (first) and ``vendor``."""
    write_tree(
        tmp_path / "assets",
        {"css/app.css": "body { color: red }\n", "js/app.js": "console.log(1)\n"},
    )
    write_tree(
        tmp_path / "vendor",
        {"css/app.css": "/* vendor copy */\n", "lib/lib.js": "export const x = 1;\n"},
    )
    return tmp_path


def config_for(project: Path, *sources: str, **kwargs: object) -> Config:
    specs = []
    for spec in sources or ("assets", "vendor"):
        prefix, _, directory = spec.rpartition("=")
        specs.append(DirectorySource(project / directory, prefix))
    options: dict[str, object] = {
        "root": project / "static_root",
        "project_root": project,
        # The core tests look at plain collection; hashing and compression have their own.
        "hash": False,
        "compress": False,
    }
    options.update(kwargs)
    return Config(sources=tuple(specs), **options)  # type: ignore[arg-type]


def collect_in_fresh_interpreter(project: Path, options: str) -> dict[str, object]:
    """Collect ``PROJECT/assets`` into ``PROJECT/static_root`` in a new interpreter (with
    ``RACY_NS = 0``), ``options`` being further ``Config`` keyword arguments as Python
    source; return the report's ``published`` and ``state_written`` and the names of
    every module loaded by the end of the run (``modules``)."""
    script = (
        "import json, sys, corral.state; from pathlib import Path; corral.state.RACY_NS = 0\n"
        "from corral import Config, DirectorySource, collect\n"
        f"p = Path({str(project)!r})\n"
        "report = collect(Config(sources=(DirectorySource(p / 'assets'),),"
        f" root=p / 'static_root', project_root=p, {options}))\n"
        "print(json.dumps({'published': report.published,"
        " 'state_written': report.state_written, 'modules': sorted(sys.modules)}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A real, tiny tmpfs (1 MiB) mounted for the test: a disk that can fill up."""
    need(os.geteuid() == 0, "mounting a tmpfs needs root")
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    need(result.returncode == 0, f"can't mount a tmpfs here: {result.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def remount(mount_point: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(mount_point)], check=True)
