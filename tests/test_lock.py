"""One writer at a time: a second run fails fast or waits, never interleaves.

The lock is held by real processes: a small holder (``corral.lock.TargetLock`` in a
child), a real ``corral collect`` paused mid-publish, or the test process itself
when the contender is a child. Whether a contender is already waiting for the lock
is read from ``/proc/PID/fd`` (it has the lock file open), never guessed by a sleep.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from corral import LockError, collect
from corral.lock import TargetLock
from corral.state import StateDir

from .conftest import config_for, need, served_files, snapshot, state_path, write_tree
from .test_faults import corral_argv

#: Takes the target's lock, says so, and holds it until its stdin is closed.
HOLD_LOCK = """
import sys
from pathlib import Path
from corral.lock import TargetLock
from corral.state import StateDir
root = Path(sys.argv[1])
with TargetLock(StateDir(root).lock_file, root):
    print("locked", flush=True)
    sys.stdin.read()
"""


def corral(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(corral_argv(*args), cwd=cwd, capture_output=True, text=True, check=False)


def start_corral(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        corral_argv(*args), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@contextmanager
def lock_held_elsewhere(root: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holds ``root``'s lock until the block ends (or it is killed)."""
    with subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        try:
            yield holder
        finally:
            release(holder)


def release(holder: subprocess.Popen[str]) -> None:
    """Let the holder finish (closing its stdin ends it, and the lock with it)."""
    if holder.stdin is not None and not holder.stdin.closed:
        holder.stdin.close()
    holder.wait(timeout=30)


def has_lock_file_open(pid: int, root: Path) -> bool:
    """Whether process ``pid`` has ``root``'s lock file open: it is locking, or waiting to."""
    need(Path("/proc/self/fd").is_dir(), "this needs /proc (Linux)")
    lock_file = os.path.realpath(StateDir(root).lock_file)
    found = False
    with contextlib.suppress(FileNotFoundError):  # the process ended, or an fd closed
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(FileNotFoundError):
                found = found or os.readlink(fd) == lock_file
    return found


def wait_for(condition: Callable[[], bool], what: str, *, timeout: float = 30.0) -> None:
    """Poll ``condition`` until it holds (the polling interval decides nothing)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.01)


def waiting_for_lock(proc: subprocess.Popen[str], root: Path) -> None:
    """Return once ``proc`` is trying to take ``root``'s lock; fail if it ends first."""
    wait_for(
        lambda: proc.poll() is not None or has_lock_file_open(proc.pid, root),
        f"process {proc.pid} tries to lock {root}",
    )
    assert proc.poll() is None, f"process {proc.pid} ended instead of waiting for the lock"


def stopped(pid: int) -> bool:
    state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    return state in ("T", "t")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def released(project: Path) -> Path:
    """``project`` with release 1 collected into ``static_root`` and the sources edited."""
    assert corral(*args_for(project), cwd=project).returncode == 0
    (project / "assets/css/app.css").write_text("body { color: blue }\n")
    write_tree(project / "assets", {"img/new.svg": "<svg/>"})
    return project


def args_for(project: Path, *extra: str) -> list[str]:
    return [
        "collect",
        "--root",
        str(project / "static_root"),
        "--source",
        str(project / "assets"),
        "--source",
        str(project / "vendor"),
        "--no-hash",  # plain collection: these tests look at the lock, not fingerprints
        "--no-compress",
        *extra,
    ]


EDITED = {
    "css/app.css": b"body { color: blue }\n",
    "img/new.svg": b"<svg/>",
    "js/app.js": b"console.log(1)\n",
    "lib/lib.js": b"export const x = 1;\n",
}


# --- two runs -----------------------------------------------------------------------------


def test_second_run_fails_fast_naming_the_holder_and_suggesting_wait(released: Path) -> None:
    root = released / "static_root"
    before = snapshot(root, scratch=False)
    with TargetLock(StateDir(root).lock_file, root):  # this test process is the holder
        start = time.monotonic()
        result = corral(*args_for(released), cwd=released)
        elapsed = time.monotonic() - start
    assert result.returncode == 1
    assert f"another corral run (process {os.getpid()}) is writing to {root}" in result.stderr
    assert "hint: let it finish, or pass --wait SECONDS to wait for it" in result.stderr
    assert elapsed < 10  # it does not wait: interpreter start-up is most of this
    assert snapshot(root, scratch=False) == before  # not a byte written


def test_second_run_with_wait_waits_then_succeeds(released: Path) -> None:
    root = released / "static_root"
    before = snapshot(root, scratch=False)
    with TargetLock(StateDir(root).lock_file, root):
        waiter = start_corral(*args_for(released, "--wait", "10", "--json"), cwd=released)
        waiting_for_lock(waiter, root)  # it is waiting ...
        assert snapshot(root, scratch=False) == before  # ... and writing nothing meanwhile
    out, err = waiter.communicate(timeout=30)
    assert waiter.returncode == 0, err
    report = json.loads(out)
    assert report["release"] == 2 and report["new"] == ["img/new.svg"]
    assert served_files(root) == EDITED


def test_python_api_raises_lock_error_with_the_holder_pid_or_waits(released: Path) -> None:
    root = released / "static_root"
    config = config_for(released)
    with lock_held_elsewhere(root) as holder:
        with pytest.raises(LockError) as info:
            collect(config)
        assert info.value.holder_pid == holder.pid
        assert f"process {holder.pid}" in info.value.message
        assert "--wait" in (info.value.hint or "")

        start = time.monotonic()
        with pytest.raises(LockError, match=r"\(waited 0.3 s\)") as info:
            collect(config, wait=0.3)
        assert info.value.holder_pid == holder.pid
        assert time.monotonic() - start >= 0.3

        # Release the holder only once this very process is waiting for the lock.
        def release_when_waiting() -> None:
            wait_for(lambda: has_lock_file_open(os.getpid(), root), "this process waits")
            release(holder)

        releaser = threading.Thread(target=release_when_waiting)
        releaser.start()
        try:
            report = collect(config, wait=30)
        finally:
            releaser.join()
        assert holder.returncode == 0  # it had to let go before this run could proceed
    assert report.release == 2 and report.new == ["img/new.svg"]
    assert served_files(root) == EDITED


def test_a_run_that_waited_collects_the_sources_as_they_are_when_it_gets_the_lock(
    released: Path,
) -> None:
    root = released / "static_root"
    with lock_held_elsewhere(root) as holder:
        waiter = start_corral(*args_for(released, "--wait", "30"), cwd=released)
        waiting_for_lock(waiter, root)
        (released / "assets/img/new.svg").unlink()  # gone before the waiter may start
        write_tree(released / "assets", {"img/newer.svg": "<svg id='2'/>"})
        release(holder)
        _, err = waiter.communicate(timeout=30)
    assert waiter.returncode == 0, err
    expected = {p: c for p, c in EDITED.items() if p != "img/new.svg"}
    assert served_files(root) == {**expected, "img/newer.svg": b"<svg id='2'/>"}


# --- many runs ----------------------------------------------------------------------------


PATHS = [f"d{i % 8}/f{i:03d}.css" for i in range(400)] + ["big/blob.bin"]


def version(v: int) -> dict[str, bytes]:
    """Version ``v`` of the sources: it edits a different half of the files than ``v - 1``."""
    return {
        p: (f"/* {p} v{v if (i + v) % 2 else v - 1} */\n" * 40).encode()
        if p != "big/blob.bin"
        else bytes([v]) * (3 << 20)
        for i, p in enumerate(PATHS)
    }


def edit_sources(source: Path, tree: dict[str, bytes]) -> None:
    """Rewrite what differs the way an editor or a build tool does: never half-written."""
    for relpath, content in tree.items():
        path = source / relpath
        if path.read_bytes() != content:
            tmp = path.with_name(f".{path.name}.tmp")  # a dot-file: ignored by default
            tmp.write_bytes(content)
            os.replace(tmp, path)


def assert_one_run_at_a_time(
    root: Path, versions: list[dict[str, bytes]], runs: list[subprocess.Popen[str]]
) -> list[int]:
    """All runs succeeded, each on the whole result of the one before; return new releases."""
    outcomes = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0] * len(runs), [err for _, err in outcomes]
    reports = [json.loads(out) for out, _ in outcomes]
    # Every run that published made its own release, numbered one after the other.
    published = sorted(r["release"] for r in reports if r["published"])
    assert published == list(range(2, 2 + len(published))) and published
    state_dir = StateDir(root)
    assert state_dir.release_ids() == [1, *published]
    records = {i: state_dir.load_release(i).files for i in state_dir.release_ids()}
    digests = {p: {sha256(v[p]) for v in versions} for p in PATHS}
    for release_id, files in records.items():
        assert set(files) == set(PATHS), f"release {release_id} is incomplete"
        assert all(files[p] in digests[p] for p in PATHS), f"release {release_id} is foreign"
    # Each run saw the release before its own, whole: what it reports as changed is
    # exactly what differs between the two records (two runs at once could not).
    for report in (r for r in reports if r["published"]):
        now, before = records[report["release"]], records[report["release"] - 1]
        assert report["changed"] == sorted(p for p in PATHS if now[p] != before[p])
    # The last run to get the lock started after the last change: all of it is served.
    assert served_files(root) == versions[-1]
    assert records[published[-1]] == {p: sha256(versions[-1][p]) for p in PATHS}
    assert os.listdir(state_path(root) / "tmp") == []
    return published


def first_of_five_releases(
    tmp_path: Path,
) -> tuple[list[dict[str, bytes]], Path, Path, list[str]]:
    """Five versions of a tree; the first collected (release 1); the collect arguments."""
    versions = [version(v) for v in range(1, 6)]
    source, root = tmp_path / "src", tmp_path / "static_root"
    write_tree(source, versions[0])
    args = ["collect", "--root", str(root), "--source", str(source), "--keep", "10"]
    args += ["--no-hash", "--no-compress"]
    assert corral(*args, cwd=tmp_path).returncode == 0  # release 1
    return versions, source, root, args


def test_many_concurrent_runs_queue_up_and_never_interleave(tmp_path: Path) -> None:
    versions, source, root, args = first_of_five_releases(tmp_path)

    runs = []
    for tree in versions[1:]:  # change the sources, start a run, change them again ...
        edit_sources(source, tree)
        runs.append(start_corral(*args, "--wait", "60", "--json", cwd=tmp_path))
    assert_one_run_at_a_time(root, versions, runs)
    result = corral("check", "--root", str(root), "--source", str(source), cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_runs_started_while_the_lock_is_held_all_wait_then_take_turns(tmp_path: Path) -> None:
    versions, source, root, args = first_of_five_releases(tmp_path)

    runs = []
    with TargetLock(StateDir(root).lock_file, root):  # all four must queue up
        for tree in versions[1:]:
            edit_sources(source, tree)
            runs.append(start_corral(*args, "--wait", "60", "--json", cwd=tmp_path))
        for run in runs:
            waiting_for_lock(run, root)
    # Released at once, four runs race for the lock. The first to get it publishes the
    # sources as they are now; each later one finds its predecessor's release complete
    # and the sources unchanged since, so it publishes nothing.
    assert assert_one_run_at_a_time(root, versions, runs) == [2]
    result = corral("check", "--root", str(root), "--source", str(source), cwd=tmp_path)
    assert result.returncode == 0, result.stderr


# --- a holder that dies -------------------------------------------------------------------


def test_lock_of_a_killed_holder_is_released(released: Path) -> None:
    root = released / "static_root"
    with lock_held_elsewhere(root) as holder:
        assert corral(*args_for(released), cwd=released).returncode == 1  # it is held
        holder.kill()
        assert holder.wait(timeout=30) == -signal.SIGKILL
        result = corral(*args_for(released), cwd=released)  # no --wait: at once
    assert result.returncode == 0, result.stderr
    assert served_files(root) == EDITED


def test_a_run_killed_mid_publish_releases_its_lock_and_the_next_run_finishes(
    released: Path,
) -> None:
    root = released / "static_root"
    # A real run, paused just before its 3rd os.replace: pending.json and the first
    # new file are in place, the second is not. Paused, it holds the lock.
    run = subprocess.Popen(
        corral_argv(*args_for(released), stop_at=("replace", 3, "SIGSTOP")),
        cwd=released,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: stopped(run.pid), "the run is paused")
        contender = corral(*args_for(released), cwd=released)
        assert contender.returncode == 1
        assert f"(process {run.pid})" in contender.stderr
        served = served_files(root)
        assert served["js/app.js"] == b"console.log(1)\n"  # release 1 whole meanwhile
        assert sum(served.get(p) == c for p, c in EDITED.items()) == 3  # one new in place
    finally:
        run.kill()
        assert run.wait(timeout=30) == -signal.SIGKILL
    result = corral(*args_for(released, "--json"), cwd=released)  # no --wait: at once
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["release"] == 2
    assert served_files(root) == EDITED
    assert os.listdir(state_path(root) / "tmp") == []


# --- bugs these tests found (now fixed) ----------------------------------------------


def test_the_lock_excludes_a_second_run_in_the_same_process(released: Path) -> None:
    root = released / "static_root"
    before = snapshot(root, scratch=False)
    with TargetLock(StateDir(root).lock_file, root), pytest.raises(LockError):
        collect(config_for(released))  # e.g. from another thread of a dev server
    assert snapshot(root, scratch=False) == before


def test_concurrent_first_runs_on_an_empty_root_both_succeed(tmp_path: Path) -> None:
    write_tree(tmp_path / "src", {"css/app.css": "a{}"})
    root = tmp_path / "static_root"
    args = [
        "collect",
        "--root",
        str(root),
        "--source",
        str(tmp_path / "src"),
        "--no-hash",
        "--no-compress",
    ]
    # The first run, paused while writing the ownership marker (its first os.fsync).
    first = subprocess.Popen(
        corral_argv(*args, stop_at=("fsync", 1, "SIGSTOP")),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: stopped(first.pid), "the first run is paused")
        second = start_corral(*args, "--wait", "30", cwd=tmp_path)
        # Resume the first run once the second has failed, finished or is waiting.
        wait_for(
            lambda: second.poll() is not None or has_lock_file_open(second.pid, root),
            "the second run gets somewhere",
        )
    finally:
        first.send_signal(signal.SIGCONT)
        first.wait(timeout=30)
    _, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    assert first.returncode == 0
    assert served_files(root) == {"css/app.css": b"a{}"}
