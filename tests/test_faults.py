"""SIGKILL ``corral collect`` at many points of a run: the previous release always survives.

A kill can land anywhere: before the lock is taken, while files are staged in
``ROOT/.corral/tmp``, in the middle of the renames that publish them, between the
release record and the state, or after the run is done. After every kill:

(a) every file of the last *committed* release (``state.json`` -> ``release``) is in
    the root, whole: its bytes are the previous or the next version of that path;
(b) nothing partial or temporary is visible where a web server looks: every served
    file is a path of one of the two releases, with the full bytes one of them records;
(c) the next run finishes (exit 0) and leaves exactly the expected tree, an empty
    ``.corral/tmp`` and a target ``corral check`` finds nothing wrong with.

The kills come at instants spread over a measured run (and at random ones), and,
to be sure every step is covered, at exact steps: a tiny wrapper sends the process
SIGKILL just before its N-th ``os.replace`` / ``os.fsync`` / ``os.unlink``.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from corral import check
from corral.state import StateDir

from .conftest import config_for, served_files, snapshot, state_path

Tree = dict[str, bytes]

SEED = 20_260_602
#: Kill points spread evenly over an uninterrupted run, and more at random instants.
EVEN_KILLS = 25
RANDOM_KILLS = 5
#: At most this many more kills aimed at a stage of the run that no kill caught.
EXTRA_KILLS = 20
#: How far a killed run got, in order (see ``progress``).
STAGES = ("before any write", "mid-staging", "new files in place", "committed")

#: Runs corral's command line, sending itself a signal just before its N-th call of
#: ``os.<name>``: ``python -c STOP_AT_CALL NAME N SIGNAL collect ...``.
STOP_AT_CALL = """
import os, signal, sys
name, count, sig = sys.argv[1], int(sys.argv[2]), getattr(signal, sys.argv[3])
del sys.argv[1:4]
real, calls = getattr(os, name), 0
def hooked(*args, **kwargs):
    global calls
    calls += 1
    if calls == count:
        os.kill(os.getpid(), sig)
    return real(*args, **kwargs)
setattr(os, name, hooked)
from corral.cli import run
run()
"""


def corral_argv(*args: str, stop_at: tuple[str, int, str] | None = None) -> list[str]:
    """The command for ``corral ARGS``; ``stop_at=("replace", 3, "SIGKILL")`` injects a signal."""
    if stop_at is None:
        return [sys.executable, "-m", "corral", *args]
    name, count, sig = stop_at
    return [sys.executable, "-c", STOP_AT_CALL, name, str(count), sig, *args]


# --- a real, generated source tree ----------------------------------------------------------


def release_1_tree(rng: random.Random, *, files: int = 1500, blobs: int = 3) -> Tree:
    """~1500 small text files in a few directories, plus three multi-MB binaries."""
    tree: Tree = {}
    dirs = ["css", "js/app", "img/icons", "fonts", "vendor/lib/dist"]
    for i in range(files):
        body = "".join(rng.choice("abcdefgh {};:\n") for _ in range(rng.randint(40, 160)))
        tree[f"{dirs[i % len(dirs)]}/f{i:04d}.txt"] = f"/* file {i} */\n{body * 10}".encode()
    for i in range(blobs):
        tree[f"media/blob{i}.bin"] = rng.randbytes((2 + i) << 20)
    return tree


def next_release_tree(old: Tree, rng: random.Random) -> Tree:
    """Edit a third of the files (a big one too), remove a tenth, add a fifth more."""
    new: Tree = {}
    for i, (relpath, content) in enumerate(sorted(old.items())):
        if i % 10 == 7:
            continue  # removed from the sources
        new[relpath] = content + b"/* v2 */\n" if i % 3 == 0 else content
    for i in range(len(old) // 5):
        new[f"new/n{i // 50}/n{i:03d}.css"] = f".n{i} {{ top: {rng.randint(0, 99)}px }}\n".encode()
    return new


def write_sources(base: Path, tree: Tree) -> None:
    """Make ``base`` hold exactly ``tree`` (writing only what differs)."""
    for path in [p for p in base.rglob("*") if p.is_file()]:
        if path.relative_to(base).as_posix() not in tree:
            path.unlink()
    for relpath, content in tree.items():
        path = base / relpath
        if path.is_file() and path.read_bytes() == content:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


# --- running and killing ----------------------------------------------------------------


def collect_args(root: Path, source: Path, *extra: str, hashing: bool) -> list[str]:
    """``collect`` into ``root`` from ``source``; ``hashing`` is corral's default."""
    return [
        "collect",
        "--root",
        str(root),
        "--source",
        str(source),
        *([] if hashing else ["--no-hash"]),
        "--no-compress",  # variants have their own crash test (tests/build/test_compress.py)
        *extra,
    ]


def run_collect(root: Path, source: Path, *, hashing: bool) -> dict[str, object]:
    """Run collect to completion; it must succeed. Return its --json report."""
    result = subprocess.run(
        corral_argv(*collect_args(root, source, "--json", hashing=hashing)),
        cwd=root.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report: dict[str, object] = json.loads(result.stdout)
    return report


def timed_run(root: Path, source: Path, *, hashing: bool) -> tuple[float, dict[str, object]]:
    start = time.monotonic()
    report = run_collect(root, source, hashing=hashing)
    return time.monotonic() - start, report


def kill_at(root: Path, source: Path, delay: float, *, hashing: bool) -> int:
    """Start collect, SIGKILL it ``delay`` seconds after the start; return its exit status."""
    start = time.monotonic()
    proc = subprocess.Popen(
        corral_argv(*collect_args(root, source, "-q", hashing=hashing)),
        cwd=root.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # Choosing the kill point is the only use of time here: every outcome is checked.
    time.sleep(max(0.0, start + delay - time.monotonic()))
    os.kill(proc.pid, signal.SIGKILL)  # a run that already ended is a zombie: no error
    return proc.wait()


def kill_before_call(root: Path, source: Path, name: str, count: int, *, hashing: bool) -> int:
    """Run collect, SIGKILLed just before its ``count``-th ``os.<name>`` call."""
    return subprocess.run(
        corral_argv(
            *collect_args(root, source, "-q", hashing=hashing), stop_at=(name, count, "SIGKILL")
        ),
        cwd=root.parent,
        capture_output=True,
        check=False,
    ).returncode


# --- the invariants -----------------------------------------------------------------------

Digests = dict[str, str]  # target-relative path -> sha256 of the content


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def digests_of(tree: Tree) -> Digests:
    return {p: sha256(c) for p, c in tree.items()}


def served_digests(root: Path) -> Digests:
    return digests_of(served_files(root)) if root.exists() else {}


def committed_release(root: Path) -> tuple[int, Digests]:
    """The release ``state.json`` names, and the files (path -> digest) its record lists."""
    state = json.loads((state_path(root) / "state.json").read_bytes())
    release = state["release"]
    assert isinstance(release, int)
    return release, StateDir(root).load_release(release).files


def assert_records_match_sources(record: Digests, tree: Tree, *, hashing: bool) -> None:
    """A release record lists the sources' exact bytes (and, hashing, more files)."""
    if hashing:  # hashed copies and manifests too; these sources reference nothing
        assert {p: record[p] for p in tree} == digests_of(tree)
        assert len(record) > 2 * len(tree)
    else:
        assert record == digests_of(tree)


@dataclass(frozen=True, slots=True)
class Aftermath:
    """What a killed run left behind, and so which phase the kill landed in."""

    when: str
    status: int
    phase: str
    committed: int
    renamed: int  # files of the next release already visible with their new content
    leftovers: int  # files left in .corral/tmp
    delay: float = 0.0


def assert_previous_release_intact(
    root: Path, before: Digests, after: Digests, *, when: str, status: int, delay: float = 0.0
) -> Aftermath:
    """Invariants (a) and (b) after a kill between release ``before`` and ``after``.

    Returns which phase the kill landed in, as seen from what it left behind.
    """
    where = f"after a kill {when}"
    release, files = committed_release(root)
    served = served_digests(root)
    # (a) the committed release is complete: no file missing, none partial.
    for relpath, digest in files.items():
        assert relpath in served, f"{where}: {relpath} of release {release} is missing"
        versions = {before.get(relpath), after.get(relpath)}
        assert served[relpath] in versions, f"{where}: {relpath} is partial or foreign"
        if release > 1:  # the new release was committed: exactly what it recorded
            assert served[relpath] == digest == after[relpath], where
    # (b) nothing else is visible: no temporary name, no partial bytes.
    for relpath, digest in served.items():
        versions = {before.get(relpath), after.get(relpath)} - {None}
        assert versions, f"{where}: {relpath} is visible but belongs to no release"
        assert digest in versions, f"{where}: {relpath} is partial"

    state_dir = StateDir(root)
    renamed = sum(1 for p, d in after.items() if before.get(p) != d and served.get(p) == d)
    leftovers = len(os.listdir(state_dir.tmp))
    if status == 0:
        phase = "finished before the kill"
    elif release > 1:
        phase = "committed (state names the new release)"
    elif state_dir.release_ids() != [1]:
        phase = "recording (new release record written, state not yet)"
    elif state_dir.pending_file.exists():
        phase = "publishing (renaming into place)"
    elif leftovers:
        phase = "staging (writing into .corral/tmp)"
    else:
        phase = "starting (nothing written yet)"
    return Aftermath(when, status, phase, release, renamed, leftovers, delay)


def assert_next_run_finishes(
    root: Path, source: Path, before: Digests, after: Digests, sources: Tree, *, hashing: bool
) -> None:
    """Invariant (c): a new run succeeds and leaves exactly the next release, checked clean.

    ``before`` is the release the kill interrupted the run from (``{}``: none), ``after``
    the record of the same run uninterrupted, ``sources`` what the sources hold.
    """
    report = run_collect(root, source, hashing=hashing)
    release, files = committed_release(root)
    assert report["release"] == release
    if release == 2 or not hashing:
        assert files == after
    else:  # a killed run's record took number 2; the manifests name the release
        assert set(files) == set(after)
        assert all(files[p] == after[p] for p in sources)
    # Files of the release before that are not in this one stay (keep = 2) until pruned.
    assert served_digests(root) == {**before, **files}
    assert os.listdir(state_path(root) / "tmp") == []
    result = check(config_for(root.parent, str(source), root=root, hash=hashing))
    assert result.ok, [str(p) for p in result.problems]


def progress(outcome: Aftermath) -> int:
    """How far a run got before its kill: an index into ``STAGES``."""
    if outcome.committed > 1:
        return 3
    if outcome.renamed:
        return 2
    return 1 if outcome.leftovers else 0


def stages_caught(outcome: Aftermath) -> set[int]:
    """The stages (indexes into ``STAGES``) this outcome proves a kill can land in: what
    the test asserts at its end."""
    killed = outcome.status != 0
    caught: set[int] = set()
    if killed and outcome.committed == 1:
        caught.add(1 if outcome.leftovers else 0)
    if killed and outcome.renamed:
        caught.add(2)
    if outcome.committed > 1:
        caught.add(3)
    return caught


def kill_points(duration: float, rng: random.Random) -> list[float]:
    even = [duration * i / (EVEN_KILLS - 1) for i in range(EVEN_KILLS)]  # 0 % .. 100 %
    return even + [duration * rng.random() for _ in range(RANDOM_KILLS)]


def phase_points(wall: float, timings: dict[str, float]) -> list[float]:
    """Instants in the middle of the short late phases, estimated from a run's timings.

    Everything before ``collect()`` (interpreter start, imports) is ``wall`` minus
    the phases' sum; the phases follow in order.
    """
    at = wall - sum(timings.values())
    points = []
    for phase, seconds in timings.items():
        if phase in ("publish", "record", "prune"):
            points += [at + seconds * 0.3, at + seconds * 0.7]
        at += seconds
    return points


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Path]:
    """A directory on tmpfs (/dev/shm) when there is one, else ``tmp_path``.

    What a SIGKILL can leave behind does not depend on the file system (a rename is
    atomic on any of them), but the kill points are chosen from a measured run, and
    on a disk the writeback of earlier runs (and online discard) makes later runs
    drift to twice as long, so the kills would bunch up in the first phases.
    """
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    path = Path(tempfile.mkdtemp(prefix="corral-faults-", dir=shm))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@dataclass
class Site:
    """Release 1 collected from ``old``; the sources now hold ``new``.

    ``r1`` and ``r2`` are the records (path -> digest) of release 1 and of release 2
    as an uninterrupted run makes it.
    """

    source: Path
    root: Path
    pristine: Path
    hashing: bool
    old: Tree
    new: Tree
    r1: Digests
    r2: Digests

    @property
    def staged(self) -> int:
        """How many files the next run writes (and renames into place)."""
        return sum(1 for p, d in self.r2.items() if self.r1.get(p) != d)

    def restore(self) -> None:
        """Put release 1 back, exactly as corral left it (see ``make_site``)."""
        for there, kept in ((self.root, self.pristine), (state_path(self.root), self.kept_state)):
            shutil.rmtree(there)
            shutil.copytree(kept, there, symlinks=True, copy_function=os.link)

    @property
    def kept_state(self) -> Path:
        return self.pristine.parent / "pristine-state"

    def intact_after_kill(self, *, when: str, status: int, delay: float = 0.0) -> Aftermath:
        return assert_previous_release_intact(
            self.root, self.r1, self.r2, when=when, status=status, delay=delay
        )

    def next_run_finishes(self) -> None:
        assert_next_run_finishes(
            self.root, self.source, self.r1, self.r2, self.new, hashing=self.hashing
        )


@contextmanager
def make_site(scratch: Path, *, hashing: bool, files: int = 1500) -> Iterator[Site]:
    rng = random.Random(SEED)
    old = release_1_tree(rng, files=files, blobs=3 if files >= 1500 else 1)
    new = next_release_tree(old, rng)
    source, root, pristine = scratch / "src", scratch / "static_root", scratch / "pristine"
    write_sources(source, old)
    run_collect(root, source, hashing=hashing)
    r1 = committed_release(root)[1]
    assert_records_match_sources(r1, old, hashing=hashing)
    # Release 1 is kept as hard links. corral never writes into a published file (it
    # renames new ones over it), so these inodes stay exactly release 1, and a root
    # restored from them has the very inode numbers, sizes and mtimes corral recorded:
    # every kill interrupts the same real incremental run, not a run repairing a copy.
    # (Copying the bytes instead would change every inode and turn the next run into
    # a "repair everything" run.) The end checks the links were never written to.
    shutil.copytree(root, pristine, symlinks=True, copy_function=os.link)
    shutil.copytree(state_path(root), scratch / "pristine-state", symlinks=True)
    before = snapshot(pristine)
    write_sources(source, new)
    run_collect(root, source, hashing=hashing)  # release 2, uninterrupted, for reference
    r2 = committed_release(root)[1]
    assert_records_match_sources(r2, new, hashing=hashing)
    site = Site(source, root, pristine, hashing, old, new, r1, r2)
    site.restore()
    yield site
    assert snapshot(pristine) == before


# --- the tests ----------------------------------------------------------------------------


@pytest.mark.slow
def test_sigkill_anywhere_in_an_incremental_run_keeps_the_previous_release(
    scratch: Path,
) -> None:
    # Plain collection (--no-hash): the publishing the issue is about, with nothing
    # else in the run. With fingerprinting too, see the step-by-step test below.
    with make_site(scratch, hashing=False) as site:
        walls: list[float] = []
        timings: list[dict[str, float]] = []
        for _ in range(3):  # the uninterrupted run, measured (and checked) a few times
            site.restore()
            wall, report = timed_run(site.root, site.source, hashing=False)
            assert report["release"] == 2 and served_digests(site.root) == {**site.r1, **site.r2}
            assert isinstance(report["timings"], dict)
            walls.append(wall)
            timings.append(report["timings"])
        duration = min(walls)  # the kills must not outlast the run
        typical = {k: statistics.median(t[k] for t in timings) for k in timings[0]}

        outcomes: list[Aftermath] = []

        def kill_and_check(delay: float) -> None:
            site.restore()
            status = kill_at(site.root, site.source, delay, hashing=False)
            assert status in (0, -signal.SIGKILL)
            when = f"at {delay * 1000:.0f} ms"
            outcomes.append(site.intact_after_kill(when=when, status=status, delay=delay))
            site.next_run_finishes()

        for delay in kill_points(duration, random.Random(SEED)) + phase_points(duration, typical):
            kill_and_check(delay)
        # Publishing and recording take a few ms each, and run times vary by more than
        # that (more still on a busy machine, where the measured runs and the killed ones
        # differ most). While a stage of the run has been caught by no kill, aim more kills
        # between the latest one that stopped before it and the earliest that got past it.
        rng = random.Random(SEED + 2)
        for _ in range(EXTRA_KILLS):
            caught = set().union(*(stages_caught(o) for o in outcomes))
            missing = [stage for stage in range(len(STAGES)) if stage not in caught]
            if not missing:
                break
            before = [o.delay for o in outcomes if progress(o) < missing[0]]
            after = [o.delay for o in outcomes if progress(o) > missing[0]]
            low = max(before, default=0.0)
            high = min(after, default=low * 1.3 + 0.05)
            low, high = sorted((low, high))  # timings on a busy machine need not be monotone
            kill_and_check(rng.uniform(max(0.0, low - 0.01), high + 0.01))

    phases = Counter(o.phase for o in outcomes)
    print(f"\nuninterrupted run: {', '.join(f'{w:.3f}' for w in walls)} s; phases {typical}")
    for o in sorted(outcomes, key=lambda o: o.delay):
        print(f"  kill {o.when}: {o.phase}; {o.renamed} new in place, {o.leftovers} in tmp")
    print(dict(phases))
    # The kills must have landed on both sides of the commit, or this proves nothing.
    killed = [o for o in outcomes if o.status != 0]
    assert len(outcomes) >= EVEN_KILLS + RANDOM_KILLS and len(killed) >= 20, phases
    assert any(o.committed == 1 and not o.leftovers for o in killed), phases  # before any write
    assert any(o.committed == 1 and o.leftovers for o in killed), phases  # mid-staging
    assert any(o.renamed for o in killed), phases  # with new files already in place
    assert any(o.committed > 1 for o in outcomes), phases  # and at or after the commit


@pytest.mark.slow
@pytest.mark.parametrize("hashing", [False, True], ids=["no-hash", "fingerprinting"])
def test_sigkill_at_each_step_of_publishing_keeps_the_previous_release(
    scratch: Path, hashing: bool
) -> None:
    # A run's os.replace calls are exactly: pending.json, each of the n new or changed
    # files (fingerprinting: hashed copies, originals, then manifests), (fingerprinting:
    # the release's manifest copy), the release record, the state. Then pending.json is
    # unlinked.
    with make_site(scratch, hashing=hashing, files=300) as site:  # steps, not volume
        n, extra = site.staged, int(hashing)
        if not hashing:
            assert n == sum(1 for p, c in site.new.items() if site.old.get(p) != c)
        # (call, count, expected phase, new files in place when killed)
        steps = [
            ("fsync", 1, "staging (writing into .corral/tmp)", 0),  # pending.json written
            ("replace", 1, "staging (writing into .corral/tmp)", 0),  # ... not yet in place
            ("replace", 2, "publishing (renaming into place)", 0),  # before the first rename
            ("replace", 3, "publishing (renaming into place)", 1),
            ("replace", 2 + n // 2, "publishing (renaming into place)", n // 2),
            ("replace", 1 + n, "publishing (renaming into place)", n - 1),  # before the last
            ("replace", 2 + n, "publishing (renaming into place)", n),  # all in place
            ("replace", 3 + n + extra, "recording (new release record written, state not yet)", n),
            ("unlink", 1, "committed (state names the new release)", n),  # pending stays
        ]
        for name, count, phase, renamed in steps:
            site.restore()
            status = kill_before_call(site.root, site.source, name, count, hashing=hashing)
            assert status == -signal.SIGKILL, f"os.{name} #{count} was never called"
            outcome = site.intact_after_kill(when=f"before os.{name} #{count}", status=status)
            assert (outcome.phase, outcome.renamed) == (phase, renamed), outcome
            site.next_run_finishes()


@pytest.mark.slow
def test_sigkill_during_the_very_first_run_then_the_next_run_builds_everything(
    scratch: Path,
) -> None:
    rng = random.Random(SEED + 1)
    tree = release_1_tree(rng, files=450, blobs=0)
    source, root = scratch / "src", scratch / "static_root"
    write_sources(source, tree)
    walls = []
    for _ in range(3):
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(state_path(root), ignore_errors=True)
        walls.append(timed_run(root, source, hashing=False)[0])
        assert served_files(root) == tree
    duration = statistics.median(walls)
    full = digests_of(tree)
    # A first run stages the release as a tree and renames its top-level directories
    # into place. Instants over the whole run, then exact steps: os.replace #1 is the
    # ownership marker, #2 pending.json, #3 .. #k+2 the k directories (some in place,
    # then all of them), then the release record and the state.
    k = len({relpath.split("/")[0] for relpath in tree})
    assert k >= 3
    kills: list[tuple[str, int | float]] = [("at", duration * i / 8) for i in range(9)]
    kills += [("fsync", 2), ("replace", 3 + k // 2), ("replace", 3 + k), ("unlink", 1)]

    landed: Counter[str] = Counter()
    for how, point in kills:
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(state_path(root), ignore_errors=True)
        if how == "at":
            when = f"at {point * 1000:.0f} ms"
            status = kill_at(root, source, point, hashing=False)
        else:
            when = f"before os.{how} #{point}"
            status = kill_before_call(root, source, how, int(point), hashing=False)
            assert status == -signal.SIGKILL, when
        assert status in (0, -signal.SIGKILL)
        # Whatever is visible is whole: never a temporary name, never partial bytes.
        served = served_digests(root)
        assert all(full.get(p) == d for p, d in served.items()), f"kill {when}"
        if (state_path(root) / "state.json").exists():
            release, files = committed_release(root)
            assert release == 1 and served == files == full, f"kill {when}"
            landed["committed"] += 1
        else:
            landed["some files in place" if served else "nothing visible"] += 1
        assert_next_run_finishes(root, source, {}, full, tree, hashing=False)
    print(f"\nfirst run: {', '.join(f'{w:.3f}' for w in walls)} s; kills: {dict(landed)}")
    assert landed["nothing visible"] and landed["some files in place"] and landed["committed"]


def test_sigkill_while_the_ownership_marker_is_written_leaves_a_usable_root(
    tmp_path: Path,
) -> None:
    source = tmp_path / "src"
    tree = {"css/app.css": b"a{}", "js/app.js": b"1"}
    write_sources(source, tree)
    root = tmp_path / "static_root"
    # The very first os.fsync of a first run is the marker's, before it is renamed.
    assert kill_before_call(root, source, "fsync", 1, hashing=False) == -signal.SIGKILL
    assert served_files(root) == {}  # nothing published, nothing half-written visible
    assert_next_run_finishes(root, source, {}, digests_of(tree), tree, hashing=False)
