#!/usr/bin/env python3
"""Time corral against the incumbents and the floors on a benchmark corpus.

``python benchmarks/run.py --corpus DIR`` times, on a corpus built by ``corpus.py``:

- scenarios: a cold collect into an empty target, a no-change re-run, a re-run after 1% of
  the files were rewritten (a deterministic selection), a re-run after one CSS file changed,
  and a ``--clear`` run;
- tools: the corral CLI, corral through ``manage.py collectstatic``, Django's
  ``StaticFilesStorage`` and ``ManifestStaticFilesStorage``, WhiteNoise's
  ``CompressedManifestStaticFilesStorage``, and the floors ``cp -r``, ``rsync -a``,
  ``sha256sum`` and parallel ``gzip -9`` / ``brotli -q 11`` (``xargs -P`` over the
  compressible files).

Tools alternate run by run (A B C, B C A, ...; never A A A then B B B). Each run is a child
process whose wall time, CPU time and peak RSS (``os.wait4``'s ``ru_maxrss``, which covers
its descendants) are recorded. A tool that is not installed or not written yet is skipped
with a note; a run that fails is reported with the tail of its output. Results go to raw
JSON and to a Markdown report (the blocks of ``benchmarks/results/HISTORY.md``; the summary
``docs/performance.md`` is written by hand from them).

``--smoke`` builds the tiny offline corpus in a temporary directory and runs every scenario
once for the tools available: the CI check that the benchmark does not rot.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import pstats
import random
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import corpus as corpus_mod  # noqa: E402  (a sibling script, not a package)

SCENARIOS: dict[str, str] = {
    "cold": "cold collect into an empty target",
    "nochange": "no-change re-run",
    "touch1pct": "re-run after 1% of the files were rewritten",
    "css1": "re-run after one CSS file changed",
    "clear": "--clear run (nothing changed)",
    "warm": "fresh empty target, warm compression cache (a container or CI build)",
}
#: WhiteNoise's ``Compressor.SKIP_COMPRESS_EXTENSIONS`` (6.12): the compression floors
#: compress exactly the files WhiteNoise would.
SKIP_COMPRESS = frozenset(
    {
        "jpg",
        "jpeg",
        "png",
        "gif",
        "webp",
        "zip",
        "gz",
        "tgz",
        "bz2",
        "tbz",
        "xz",
        "br",
        "swf",
        "flv",
        "woff",
        "woff2",
        "3gp",
        "3gpp",
        "asf",
        "avi",
        "m4v",
        "mov",
        "mp4",
        "mpeg",
        "mpg",
        "webm",
        "wmv",
    }
)
TOUCH_SEED = 20261122
DASH = "\u2013"  # en dash: an empty cell, a range
TIMES = "\u00d7"  # multiplication sign: a ratio
DEFAULT_TIMEOUT = 3600.0
RESULTS_START = "<!-- bench:results:start -->"
RESULTS_END = "<!-- bench:results:end -->"


# --- measuring one child process ---------------------------------------------------------


@dataclass(slots=True)
class Run:
    """One timed run of one tool."""

    wall: float
    user: float
    sys: float
    maxrss_kib: int
    returncode: int
    tree_rss_kib: int = 0  # peak of the summed RSS of the whole process group (sampled)
    summary: str = ""  # the tool's last line of output (Django's "N files copied ...")
    report: dict[str, Any] = field(default_factory=dict)  # corral --json: counts, timings


@dataclass(slots=True)
class Command:
    argv: list[str]
    cwd: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    stdin: Path | None = None


#: GNU time, to read a child's peak RSS; see measure().
GNU_TIME = "/usr/bin/time" if Path("/usr/bin/time").exists() else None


def measure(command: Command, log: Path, timeout: float) -> Run:
    """Run ``command`` to completion; return its wall time, CPU time and peak RSS.

    Peak RSS comes from GNU ``time`` (``%M``) when it is installed: a process forked from
    this Python runner starts with the runner's resident set as its high-water mark (Linux
    keeps ``maxrss`` across ``exec``), so ``os.wait4``'s ``ru_maxrss`` on a direct child
    never reads below the runner's own ~25 MiB; ``time`` forks the command from a tiny
    process instead. Both cover descendants (the largest of them), so a shell pipeline or
    ``xargs -P`` is measured whole. Without GNU time, ``wait4`` figures are used.
    Output goes to ``log`` (stdout) and ``log.err`` (stderr).
    """
    env = {**os.environ, **command.env}
    log.parent.mkdir(parents=True, exist_ok=True)
    time_file = log.with_suffix(log.suffix + ".time")
    argv = command.argv
    if GNU_TIME:
        argv = [GNU_TIME, "-f", "%M %U %S", "-o", str(time_file), "--", *argv]
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(log.open("wb"))
        err = stack.enter_context(log.with_suffix(log.suffix + ".err").open("wb"))
        stdin = stack.enter_context(command.stdin.open("rb")) if command.stdin else None
        start = time.perf_counter()
        proc: subprocess.Popen[bytes] | None = None
        timer: threading.Timer | None = None
        try:
            with _interrupts_deferred():
                proc = subprocess.Popen(
                    argv,
                    cwd=command.cwd,
                    env=env,
                    stdin=stdin or subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    start_new_session=True,
                )
            timer = threading.Timer(timeout, _kill_group, (proc.pid,))
            timer.start()
            sampler = _TreeSampler(proc.pid)
            sampler.start()
            try:
                _, status, usage = os.wait4(proc.pid, 0)
            finally:
                sampler.stop()
        except BaseException:  # interrupted (Ctrl-C, SIGTERM): take the run down with us
            if proc is not None:  # (a signal can come as soon as the command started)
                _kill_group(proc.pid)
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(proc.pid, 0)
                _wait_group_gone(proc.pid)
            raise
        finally:
            if timer is not None:
                timer.cancel()
        wall = time.perf_counter() - start
    _wait_group_gone(proc.pid)  # a killed run's other processes may still be writing
    proc.returncode = os.waitstatus_to_exitcode(status)
    run = Run(
        wall=wall,
        user=usage.ru_utime,
        sys=usage.ru_stime,
        maxrss_kib=usage.ru_maxrss,
        returncode=proc.returncode,
        tree_rss_kib=sampler.peak_kib,
    )
    if GNU_TIME and time_file.exists():
        fields = (time_file.read_text().strip().splitlines() or [""])[-1].split()
        # A run killed with its process group (timeout, Ctrl-C) killed `time` too: no figures.
        with contextlib.suppress(ValueError, IndexError):
            rss, user, system = int(fields[0]), float(fields[1]), float(fields[2])
            run.maxrss_kib, run.user, run.sys = rss, user, system
    return run


class _TreeSampler(threading.Thread):
    """Samples, every 50 ms, the RSS of every process of a process group, summed.

    GNU ``time``'s ``%M`` is the peak of the largest single process of the tree; a run
    with worker processes (corral's first-run staging pool, ``xargs -P``) holds more than
    that at once. This is the other figure: the peak of the sum (Linux ``/proc`` only; 0
    elsewhere). Short-lived peaks between two samples are missed.
    """

    def __init__(self, pgid: int) -> None:
        super().__init__(daemon=True)
        self.pgid, self.peak_kib = pgid, 0
        self._done = threading.Event()
        self._page_kib = os.sysconf("SC_PAGE_SIZE") // 1024 if hasattr(os, "sysconf") else 4

    def run(self) -> None:
        if not Path("/proc/self/statm").exists():
            return
        while not self._done.wait(0.05):
            total = 0
            for entry in os.scandir("/proc"):
                if not entry.name.isdigit():
                    continue
                with contextlib.suppress(OSError, ValueError, IndexError):
                    if os.getpgid(int(entry.name)) == self.pgid:
                        with open(f"/proc/{entry.name}/statm") as statm:
                            total += int(statm.read().split()[1]) * self._page_kib
            self.peak_kib = max(self.peak_kib, total)

    def stop(self) -> None:
        self._done.set()
        self.join()


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def _wait_group_gone(pgid: int, limit: float = 10.0) -> None:
    """Wait (up to ``limit`` seconds) until no process of group ``pgid`` is left.

    Waiting for the group's leader is not enough: after a ``SIGKILL`` of the group its
    other members (the timed command under GNU ``time``, its worker processes) die on
    their own schedule, finishing the system call they are in, so a file can still appear
    in the target while the next step removes it.
    """
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.005)


def tail(path: Path, lines: int = 12) -> str:
    text = ""
    for candidate in (path.with_suffix(path.suffix + ".err"), path):
        if candidate.exists():
            text += candidate.read_text(errors="replace")
    return "\n".join(text.strip().splitlines()[-lines:])


# --- the corpus as the runner sees it -------------------------------------------------------


@dataclass(slots=True)
class Context:
    """Everything a tool needs to build its command for one corpus."""

    corpus: corpus_mod.Corpus
    root: Path  # the corpus directory
    work: Path  # targets, logs and scratch files of this run
    python: str  # the interpreter with Django and friends
    corral: str | None  # the corral executable, if any
    timeout: float
    winners: dict[str, Path]  # logical path -> source file that wins it
    caches: Path | None = None  # where the tools' compression caches live (default: work)

    @property
    def django_project(self) -> Path:
        return self.root / "django"

    @property
    def corral_config(self) -> Path:
        return self.root / "corral" / "pyproject.toml"

    def target(self, tool: str) -> Path:
        return self.work / "targets" / tool

    def cache(self, tool: str) -> Path:
        """The tool's shared compression cache (``CORRAL_CACHE_DIR``; corral only): under
        ``--caches`` (kept between invocations) if given, else in the work directory."""
        return (self.caches or self.work / "caches") / tool

    def compressible(self) -> list[str]:
        return sorted(
            logical
            for logical in self.winners
            if Path(logical).suffix.lower().lstrip(".") not in SKIP_COMPRESS
        )


# --- tools ------------------------------------------------------------------------------


class Tool:
    """A way to fill a target from the corpus. Subclasses build the command per scenario."""

    name = ""
    label = ""
    kind = "incumbent"  # "corral" | "incumbent" | "floor"
    scenarios: frozenset[str] = frozenset(SCENARIOS)
    #: Whether the target persists between runs (so a re-run can be incremental): such a
    #: tool is brought up to date, untimed, before a no-change / touched / --clear run.
    stateful = True

    def unavailable(self, ctx: Context) -> str | None:
        """Why this tool can't run here, or ``None`` if it can."""
        return None

    def describe(self, ctx: Context) -> str:
        """A note on what this tool does in this run (shown with the results)."""
        return ""

    def command(self, ctx: Context, scenario: str) -> Command:
        raise NotImplementedError

    def prepare(self, ctx: Context, scenario: str) -> None:
        """Untimed set-up right before a timed run: an empty target for cold (and an empty
        compression cache: truly cold) and warm (the cache the untimed run filled kept)."""
        if scenario in ("cold", "warm"):
            target = ctx.target(self.name)
            remove_tree(target)
            # corral's private state, next to the target (a container has neither)
            remove_tree(target.parent / f".{target.name}.corral")
        if scenario == "cold":
            remove_tree(ctx.cache(self.name))

    def parse(self, run: Run, log: Path) -> None:
        """Pick the summary out of the run's output."""
        lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
        run.summary = lines[-1].strip()[:200] if lines else ""


def remove_tree(path: Path) -> None:
    if path.exists() or path.is_symlink():
        shutil.rmtree(path)


def _probe(argv: Sequence[str], env: dict[str, str] | None = None) -> tuple[bool, str]:
    try:
        done = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, **(env or {})},
            timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    output = (done.stderr or done.stdout).strip().splitlines()
    return done.returncode == 0, output[-1] if output else f"exit {done.returncode}"


class CorralCli(Tool):
    name = "corral"
    label = "corral CLI"
    kind = "corral"

    def unavailable(self, ctx: Context) -> str | None:
        if ctx.corral is None:
            return "not available yet: no `corral` executable (pip install -e . into the venv)"
        ok, last = _probe([ctx.corral, "collect", "--help"])
        return None if ok else f"not available yet: `corral collect --help` failed: {last}"

    def describe(self, ctx: Context) -> str:
        # corral grows stage by stage (copy, then fingerprints, then compression); say which
        # stages this build runs by default, so ratios against Manifest/WhiteNoise are read
        # for what they are.
        assert ctx.corral is not None
        done = subprocess.run(
            [ctx.corral, "collect", "--help"], capture_output=True, text=True, check=False
        )
        stages = ["copy"]
        if "--no-hash" in done.stdout:
            stages.append("fingerprint + rewrite")
        if "--no-compress" in done.stdout:
            stages.append("compress")
        if len(stages) == 1:
            return (
                "this corral build only copies (its `collect` has no fingerprinting or "
                "compression yet): compare it with StaticFilesStorage, cp and rsync"
            )
        return "this corral build runs by default: " + ", ".join(stages)

    def command(self, ctx: Context, scenario: str) -> Command:
        assert ctx.corral is not None
        argv = [
            ctx.corral,
            "collect",
            "--config",
            str(ctx.corral_config),
            "--root",
            str(ctx.target(self.name)),
            "--json",
        ]
        if scenario == "clear":
            argv.append("--clear")
        return Command(argv)

    def parse(self, run: Run, log: Path) -> None:
        try:
            report = json.loads(log.read_text())
        except ValueError:
            super().parse(run, log)
            return
        run.report = {k: v for k, v in report.items() if isinstance(v, dict | int | float)}
        counts = report.get("counts", {})
        run.summary = ", ".join(f"{k} {v}" for k, v in counts.items() if v)


class CorralVariant(CorralCli):
    """corral with some stages switched off, to compare like with like."""

    flags: tuple[str, ...] = ()

    def unavailable(self, ctx: Context) -> str | None:
        reason = super().unavailable(ctx)
        if reason:
            return reason
        assert ctx.corral is not None
        done = subprocess.run(
            [ctx.corral, "collect", "--help"], capture_output=True, text=True, check=False
        )
        missing = [f for f in self.flags if f not in done.stdout]
        return f"this corral build has no {', '.join(missing)}" if missing else None

    def describe(self, ctx: Context) -> str:
        return ""

    def command(self, ctx: Context, scenario: str) -> Command:
        command = super().command(ctx, scenario)
        command.argv += list(self.flags)
        return command


class CorralHashOnly(CorralVariant):
    name = "corral-hash"
    label = "corral CLI --no-compress (copy + fingerprint)"
    flags = ("--no-compress",)


class CorralCopyOnly(CorralVariant):
    name = "corral-copy"
    label = "corral CLI --no-hash --no-compress (copy)"
    flags = ("--no-hash", "--no-compress")


class DjangoTool(Tool):
    storage = "static"

    def unavailable(self, ctx: Context) -> str | None:
        modules = self._modules()
        ok, last = _probe([ctx.python, "-c", f"import {', '.join(modules)}"])
        if ok:
            return None
        if self.kind == "corral":
            return f"not available yet: corral.contrib.django can't be imported ({last})"
        return f"{', '.join(modules)} not importable by {ctx.python} ({last})"

    def _modules(self) -> list[str]:
        modules = ["django"]
        if self.storage == "whitenoise":
            modules.append("whitenoise")
        if self.storage.startswith("corral"):
            modules.append("corral.contrib.django")
        return modules

    def command(self, ctx: Context, scenario: str) -> Command:
        argv = [ctx.python, "manage.py", "collectstatic", "--noinput", "-v", "1"]
        if scenario == "clear":
            argv.append("--clear")
        return Command(
            argv,
            cwd=ctx.django_project,
            env={
                "BENCH_STORAGE": self.storage,
                "BENCH_STATIC_ROOT": str(ctx.target(self.name)),
                "DJANGO_SETTINGS_MODULE": "benchsite.settings",
            },
        )

    def parse(self, run: Run, log: Path) -> None:
        super().parse(run, log)
        run.summary = re.sub(r"to '[^']*'", "to STATIC_ROOT", run.summary)


#: Printed by the Django python in the benchmark project: which ``collectstatic`` command
#: ``manage.py`` runs, the staticfiles storage, and how corral serves that storage
#: (``plain``/``manifest``/``corral``; ``django`` means corral hands the run to Django's own
#: collection, which would time Django under corral's name).
_CORRAL_DJANGO_PROBE = r"""
import json, django
django.setup()
from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.management import get_commands, load_command_class
from corral.contrib.django.conf import storage_kind
app = get_commands()["collectstatic"]
command = type(load_command_class(app, "collectstatic"))
apps = list(settings.INSTALLED_APPS)
kind, reason = storage_kind(staticfiles_storage)
print(json.dumps({
    "command": f"{command.__module__}.{command.__qualname__}",
    "storage": settings.STORAGES["staticfiles"]["BACKEND"],
    "kind": kind,
    "reason": reason,
    "first": "corral.contrib.django" in apps and "django.contrib.staticfiles" in apps
    and apps.index("corral.contrib.django") < apps.index("django.contrib.staticfiles"),
}))
"""


class CorralDjangoTool(DjangoTool):
    """``manage.py collectstatic`` with ``corral.contrib.django``: checked to really be
    corral's command, collecting with corral (not handing the run back to Django)."""

    kind = "corral"
    expected_kind = ""

    def _probe_project(self, ctx: Context) -> dict[str, Any] | str:
        done = subprocess.run(
            [ctx.python, "-c", _CORRAL_DJANGO_PROBE],
            cwd=ctx.django_project,
            env={
                **os.environ,
                "BENCH_STORAGE": self.storage,
                "DJANGO_SETTINGS_MODULE": "benchsite.settings",
            },
            capture_output=True,
            text=True,
            check=False,
        )
        lines = done.stdout.strip().splitlines()
        if done.returncode != 0 or not lines:
            err = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
            return f"the benchmark project does not load with corral.contrib.django ({err})"
        found: dict[str, Any] = json.loads(lines[-1])
        return found

    def unavailable(self, ctx: Context) -> str | None:
        reason = super().unavailable(ctx)
        if reason:
            return reason
        found = self._probe_project(ctx)
        if isinstance(found, str):
            return found
        if not found["first"] or not found["command"].startswith("corral.contrib.django."):
            return (
                f"manage.py collectstatic is {found['command']}, not corral's: list "
                "corral.contrib.django before django.contrib.staticfiles (rebuild the corpus)"
            )
        if found["kind"] != self.expected_kind:
            return (
                f"corral would serve {found['storage']} as {found['kind']!r}, not "
                f"{self.expected_kind!r}: {found['reason'] or 'rebuild the corpus'}"
            )
        return None

    def describe(self, ctx: Context) -> str:
        found = self._probe_project(ctx)
        if isinstance(found, str):
            return found
        return (
            f"`manage.py collectstatic` is `{found['command']}` (corral.contrib.django listed "
            f"before django.contrib.staticfiles); storage `{found['storage']}`, collected by "
            f"corral as {found['kind']!r}"
        )


class CorralDjango(CorralDjangoTool):
    name = "corral-django"
    label = "corral manage.py collectstatic (Manifest)"
    storage = "corral"
    expected_kind = "manifest"


class CorralDjangoStatic(CorralDjangoTool):
    name = "corral-django-static"
    label = "corral manage.py collectstatic (plain)"
    storage = "corral-static"
    expected_kind = "plain"


class DjangoStatic(DjangoTool):
    name = "django-static"
    label = "Django StaticFilesStorage"
    storage = "static"


class DjangoManifest(DjangoTool):
    name = "django-manifest"
    label = "Django ManifestStaticFilesStorage"
    storage = "manifest"


class WhiteNoise(DjangoTool):
    name = "whitenoise"
    label = "WhiteNoise CompressedManifest (gzip 9 + brotli 11)"
    storage = "whitenoise"


def _sources_script(ctx: Context, copy: str) -> list[str]:
    """Shell lines that copy every source into the target under its prefix (one command
    per source, in priority order), with ``copy`` being ``cp -r`` or ``rsync -a``.
    """
    lines = ["set -e", 'T="$1"']
    for source in ctx.corpus.sources:
        dest = f'"$T"/{shlex.quote(source.prefix)}' if source.prefix else '"$T"'
        src = shlex.quote(source.path.rstrip("/") + "/")
        if copy == "cp":
            lines.append(f"mkdir -p {dest} && cp -r {src}. {dest}/")
        else:
            lines.append(f"mkdir -p {dest} && rsync -a {src} {dest}/")
    return lines


class CopyFloor(Tool):
    name = "cp"
    label = "floor: cp -r"
    kind = "floor"
    scenarios = frozenset({"cold", "clear"})
    copy = "cp"

    def unavailable(self, ctx: Context) -> str | None:
        return None if shutil.which(self.copy) else f"`{self.copy}` is not installed"

    def script(self, ctx: Context) -> Path:
        path = ctx.work / f"floor-{self.name}.sh"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("\n".join(_sources_script(ctx, self.copy)) + "\n")
        return path

    def command(self, ctx: Context, scenario: str) -> Command:
        target = shlex.quote(str(ctx.target(self.name)))
        clear = f"rm -rf {target} && " if scenario == "clear" else ""
        return Command(["sh", "-c", f"{clear}sh {shlex.quote(str(self.script(ctx)))} {target}"])


class RsyncFloor(CopyFloor):
    name = "rsync"
    label = "floor: rsync -a"
    scenarios = frozenset(SCENARIOS)
    copy = "rsync"


class ListFloor(Tool):
    """A floor that runs ``xargs -0 -P <cores>`` over a list of files."""

    kind = "floor"
    scenarios = frozenset({"cold"})
    stateful = False
    program = ""
    xargs = ""

    def unavailable(self, ctx: Context) -> str | None:
        missing = [p for p in (self.program, "xargs") if not shutil.which(p)]
        return f"`{'`, `'.join(missing)}` not installed" if missing else None

    def files(self, ctx: Context) -> list[Path]:
        raise NotImplementedError

    def list_file(self, ctx: Context) -> Path:
        return ctx.work / f"files-{self.name}.list0"

    def prepare(self, ctx: Context, scenario: str) -> None:
        paths = self.files(ctx)
        listing = self.list_file(ctx)
        listing.parent.mkdir(parents=True, exist_ok=True)
        listing.write_bytes(b"".join(os.fsencode(p) + b"\0" for p in paths))

    def command(self, ctx: Context, scenario: str) -> Command:
        return Command(["sh", "-c", self.xargs], stdin=self.list_file(ctx))


class Sha256Floor(ListFloor):
    name = "sha256sum"
    label = "floor: sha256sum of every file (xargs -P 2)"
    program = "sha256sum"

    def __init__(self) -> None:
        self.xargs = f"xargs -0 -P {os.cpu_count() or 1} -n 256 sha256sum > /dev/null"

    def files(self, ctx: Context) -> list[Path]:
        return [ctx.winners[k] for k in sorted(ctx.winners)]


class CompressFloor(ListFloor):
    """Compress a scratch copy of the compressible files (so nothing lands in the sources)."""

    level = ""

    def __init__(self) -> None:
        cores = os.cpu_count() or 1
        self.xargs = f"xargs -0 -P {cores} -n 16 {self.program} {self.level} -k -f"

    def files(self, ctx: Context) -> list[Path]:
        scratch = ctx.target(self.name)
        remove_tree(scratch)
        paths = []
        for logical in ctx.compressible():
            dest = scratch / logical
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ctx.winners[logical], dest)
            paths.append(dest)
        return paths


class GzipFloor(CompressFloor):
    name = "gzip"
    label = "floor: gzip -9 (xargs -P 2, WhiteNoise's compressible files)"
    program = "gzip"
    level = "-9"


class BrotliFloor(CompressFloor):
    name = "brotli"
    label = "floor: brotli -q 11 (xargs -P 2, WhiteNoise's compressible files)"
    program = "brotli"
    level = "-q 11"


class ZstdFloor(CompressFloor):
    name = "zstd"
    label = "floor: zstd -19 (xargs -P 2, WhiteNoise's compressible files)"
    program = "zstd"
    level = "-19 -q"


class LevelsFloor(Tool):
    """corral's own compression work (its contents, encodings and levels) done by the
    ``gzip``, ``brotli`` and ``zstd`` programs, ``xargs -P <cores>`` (see levels_floor.py)."""

    name = "cli-levels"
    label = "floor: gzip/brotli/zstd CLIs at corral's levels, corral's contents (xargs -P 2)"
    kind = "floor"
    scenarios = frozenset({"cold"})
    stateful = False

    def unavailable(self, ctx: Context) -> str | None:
        missing = [p for p in ("gzip", "brotli", "zstd", "xargs") if not shutil.which(p)]
        if missing:
            return f"`{'`, `'.join(missing)}` not installed"
        return None if ctx.corral else "needs corral (its release and compression options)"

    def lines(self, ctx: Context) -> Path:
        return ctx.work / f"commands-{self.name}.txt"

    def prepare(self, ctx: Context, scenario: str) -> None:
        """Once: publish the corpus with ``corral --no-compress`` into this tool's target
        (untimed) and write the command lines; the timed run compresses in that copy."""
        if self.lines(ctx).exists():
            return
        assert ctx.corral is not None
        root = ctx.target(self.name)
        remove_tree(root)
        remove_tree(root.parent / f".{root.name}.corral")
        argv = [ctx.corral, "collect", "--config", str(ctx.corral_config), "--root", str(root)]
        subprocess.run([*argv, "--no-compress", "-q"], check=True)
        python = _interpreter_of(ctx.corral)
        helper = Path(__file__).with_name("levels_floor.py")
        out = self.lines(ctx)
        args = [python, str(helper), str(ctx.corral_config), str(root), str(out)]
        subprocess.run(args, check=True)

    def command(self, ctx: Context, scenario: str) -> Command:
        cores = os.cpu_count() or 1
        return Command(["sh", "-c", f"xargs -d '\\n' -n 1 -P {cores} sh -c"], stdin=self.lines(ctx))


def _interpreter_of(executable: str) -> str:
    """The Python a console script runs with (its ``#!`` line), else this one."""
    with contextlib.suppress(OSError), open(executable, "rb") as script:
        first = script.readline().decode(errors="replace").strip()
        if first.startswith("#!") and Path(first[2:].split()[0]).exists():
            return first[2:].split()[0]
    return sys.executable


ALL_TOOLS: tuple[Tool, ...] = (
    CorralCli(),
    CorralHashOnly(),
    CorralCopyOnly(),
    CorralDjango(),
    CorralDjangoStatic(),
    DjangoStatic(),
    DjangoManifest(),
    WhiteNoise(),
    CopyFloor(),
    RsyncFloor(),
    Sha256Floor(),
    GzipFloor(),
    BrotliFloor(),
    ZstdFloor(),
    LevelsFloor(),
)
TOOLS = {tool.name: tool for tool in ALL_TOOLS}
for _tool in ALL_TOOLS:  # the floors' labels say how many processes they use
    _tool.label = _tool.label.replace("-P 2", f"-P {os.cpu_count() or 1}")


# --- changing the corpus (and putting it back) ----------------------------------------------


class Mutator:
    """Rewrites corpus files for the touched scenarios and restores them afterwards.

    The originals are copied to ``<corpus>/.bench-pristine/`` (with a journal) before the
    first change, so a killed run is repaired by the next one. Each change appends a new
    marker (so every run sees genuinely new content) in a way the file's format tolerates.
    """

    def __init__(self, corpus_dir: Path, winners: dict[str, Path]) -> None:
        self.store = corpus_dir / ".bench-pristine"
        self.journal = self.store / "journal.json"
        self.winners = winners
        self.generation = 0
        self.saved: dict[str, str] = {}
        self.restore()

    def touch_set(self) -> list[str]:
        """1% of the logical files (at least one), chosen by a fixed seed."""
        names = sorted(self.winners)
        count = max(1, round(len(names) / 100))
        return sorted(random.Random(TOUCH_SEED).sample(names, count))

    def css_file(self) -> str:
        """The site's own stylesheet (imported by nothing, importing others), else the
        first CSS file in logical order."""
        if "css/site.css" in self.winners:
            return "css/site.css"
        return next(name for name in sorted(self.winners) if name.endswith(".css"))

    def change(self, logical: Sequence[str]) -> None:
        self.generation += 1
        marker = f"corral-bench touch {self.generation}"
        self.store.mkdir(parents=True, exist_ok=True)
        for name in logical:
            path = self.winners[name]
            key = str(path)
            if key not in self.saved:
                backup = self.store / f"{len(self.saved):06d}"
                shutil.copyfile(path, backup)
                self.saved[key] = str(backup)
                self.journal.write_text(json.dumps(self.saved))
            original = Path(self.saved[key]).read_bytes()
            path.write_bytes(corpus_mod.mark(original, path.suffix, marker))

    def restore(self) -> None:
        """Put every changed file back (new mtime, original bytes)."""
        if self.journal.exists():
            self.saved.update(json.loads(self.journal.read_text()))
        for path, backup in self.saved.items():
            shutil.copyfile(backup, path)
        self.saved.clear()
        if self.store.exists():
            shutil.rmtree(self.store)


# --- the benchmark loop ---------------------------------------------------------------------


@dataclass(slots=True)
class Cell:
    """All runs of one tool in one scenario."""

    runs: list[Run] = field(default_factory=list)
    status: str = "ok"  # ok | failed | n/a | skipped
    note: str = ""

    def stats(self) -> dict[str, float]:
        walls = sorted(r.wall for r in self.runs)
        if not walls:
            return {}
        out = {
            "median": statistics.median(walls),
            "min": walls[0],
            "max": walls[-1],
            "rss_mib": max(r.maxrss_kib for r in self.runs) / 1024,
            "cpu": statistics.median(r.user + r.sys for r in self.runs),
            # CPU time / (wall x usable cores), of the median-wall run: how busy the cores were
            "busy": _busy(sorted(self.runs, key=lambda r: r.wall)[(len(walls) - 1) // 2]),
        }
        trees = [r.tree_rss_kib for r in self.runs if r.tree_rss_kib]
        if trees:
            out["tree_rss_mib"] = max(trees) / 1024
        # corral's compression phase alone: its CPU time (all threads) / (its wall x cores)
        phases = [_phase_busy(r, "compress") for r in self.runs]
        if any(p is not None for p in phases):
            out["compress_busy"] = statistics.median(p for p in phases if p is not None)
            out["compress_wall"] = statistics.median(
                r.report["timings"]["compress"] for r in self.runs if _phase_busy(r, "compress")
            )
        if len(walls) >= 4:
            q = statistics.quantiles(walls, n=4)
            out["q1"], out["q3"] = q[0], q[2]
        return out


@dataclass(slots=True)
class CorpusResult:
    corpus: dict[str, Any]
    tools: dict[str, dict[str, str]]
    cells: dict[str, dict[str, Cell]]
    load: list[float] = field(default_factory=list)  # 1/5/15-min load before, then after

    def to_json(self) -> dict[str, Any]:
        return {
            "corpus": self.corpus,
            "load": self.load,
            "tools": self.tools,
            "results": {
                tool: {
                    scenario: {
                        "status": c.status,
                        "note": c.note,
                        **c.stats(),
                        "runs": [asdict(r) for r in c.runs],
                    }
                    for scenario, c in cells.items()
                }
                for tool, cells in self.cells.items()
            },
        }


@dataclass(frozen=True, slots=True)
class Plan:
    """How many runs of what: ``repeat`` runs per tool and scenario unless overridden."""

    repeat: int
    repeat_for: dict[str, int] = field(default_factory=dict)
    scenarios_for: dict[str, frozenset[str]] = field(default_factory=dict)

    def runs(self, tool: str) -> int:
        return self.repeat_for.get(tool, self.repeat)

    def wants(self, tool: Tool, scenario: str) -> bool:
        return scenario in tool.scenarios and scenario in self.scenarios_for.get(
            tool.name, tool.scenarios
        )


class Bench:
    def __init__(
        self,
        ctx: Context,
        tools: Sequence[Tool],
        scenarios: Sequence[str],
        plan: Plan,
        *,
        echo: bool = True,
    ) -> None:
        self.ctx = ctx
        self.scenarios = scenarios
        self.plan = plan
        self.echo = echo
        self.notes: dict[str, str] = {}
        self.tools: list[Tool] = []
        for tool in tools:
            reason = tool.unavailable(ctx)
            if reason:
                self.notes[tool.name] = reason
                self.say(f"skip {tool.name}: {reason}")
            else:
                self.tools.append(tool)
                if note := tool.describe(ctx):
                    self.notes[tool.name] = note
        self.cells: dict[str, dict[str, Cell]] = {t.name: {} for t in tools}
        self.synced: dict[str, int | None] = {t.name: None for t in tools}
        self.mutator = Mutator(ctx.root, ctx.winners)
        self.counter = 0
        self.interrupted = False

    def say(self, message: str) -> None:
        if self.echo:
            print(message, flush=True)

    def run(self) -> CorpusResult:
        try:
            for scenario in self.scenarios:
                self.scenario(scenario)
        except KeyboardInterrupt:
            # Keep what was measured: the cells still waiting are marked, not lost.
            self.interrupted = True
            self.say("interrupted: writing the results measured so far")
            for cells in self.cells.values():
                for cell in cells.values():
                    if cell.status == "ok" and not cell.runs:
                        cell.status, cell.note = "not run", "the benchmark was interrupted"
        finally:
            self.mutator.restore()
        tools = {}
        for name, cells in self.cells.items():
            tool = TOOLS[name]
            available = name in {t.name for t in self.tools}
            tools[name] = {
                "label": tool.label,
                "kind": tool.kind,
                "available": "yes" if available else "no",
                "note": self.notes.get(name, ""),
            }
            for scenario in self.scenarios:
                if scenario in cells:
                    continue
                if not available:
                    cells[scenario] = Cell(status="skipped", note=self.notes[name])
                elif self.interrupted and self.plan.wants(tool, scenario):
                    cells[scenario] = Cell(status="not run", note="the benchmark was interrupted")
                elif scenario in tool.scenarios:
                    cells[scenario] = Cell(status="not run", note="left out by --scenarios-for")
                else:
                    cells[scenario] = Cell(status="n/a")
        return CorpusResult(asdict(self.ctx.corpus), tools, self.cells)

    def scenario(self, scenario: str) -> None:
        tools = [t for t in self.tools if self.plan.wants(t, scenario)]
        for tool in tools:
            self.cells[tool.name][scenario] = Cell()
        rounds = max([self.plan.runs(t.name) for t in tools], default=0)
        for rep in range(rounds):
            active = [
                t
                for t in tools
                if rep < self.plan.runs(t.name) and self.cells[t.name][scenario].status == "ok"
            ]
            if not active:
                break
            # Rotate the order every round: A B C, B C A, C A B ...
            shift = rep % len(active)
            active = active[shift:] + active[:shift]
            for tool in active:
                if scenario != "cold" and tool.stateful:
                    self.sync(tool, scenario)
            if scenario == "touch1pct":
                self.mutator.change(self.mutator.touch_set())
            elif scenario == "css1":
                self.mutator.change([self.mutator.css_file()])
            for tool in active:
                cell = self.cells[tool.name][scenario]
                if cell.status != "ok":
                    continue
                tool.prepare(self.ctx, scenario)
                # The removals and writes of the set-up (and of the last run) are written
                # out before the clock starts: a timed run does not pay for the kernel's
                # deferred work on tens of thousands of files it did not touch.
                os.sync()
                self.timed(tool, scenario, cell, rep)

    def sync(self, tool: Tool, scenario: str) -> None:
        """Bring the tool's target up to date with the corpus, untimed."""
        cell = self.cells[tool.name][scenario]
        if cell.status != "ok":
            return
        if (
            self.synced[tool.name] == self.mutator.generation
            and self.ctx.target(tool.name).exists()
        ):
            return
        log = self.log_path(tool, f"{scenario}-prepare")
        run = measure(self.command(tool, "prepare"), log, self.ctx.timeout)
        if run.returncode != 0:
            cell.status = "failed"
            cell.note = f"preparing run failed (exit {run.returncode}): {tail(log)}"
            self.say(f"FAIL {tool.name} {scenario} (prepare): {tail(log, 4)}")
            return
        self.synced[tool.name] = self.mutator.generation

    def timed(self, tool: Tool, scenario: str, cell: Cell, rep: int) -> None:
        log = self.log_path(tool, f"{scenario}-{rep}")
        run = measure(self.command(tool, scenario), log, self.ctx.timeout)
        tool.parse(run, log)
        if run.returncode != 0:
            cell.status = "failed"
            cell.note = f"exit {run.returncode}: {tail(log)}"
            self.synced[tool.name] = None
            self.say(f"FAIL {tool.name} {scenario}: {tail(log, 6)}")
            return
        cell.runs.append(run)
        self.synced[tool.name] = self.mutator.generation
        self.say(
            f"{scenario:10s} {tool.name:22s} {run.wall:9.3f} s  "
            f"{run.maxrss_kib / 1024:7.1f} MiB  {run.summary[:70]}"
        )

    def command(self, tool: Tool, scenario: str) -> Command:
        """The tool's command, with its own compression cache (never the user's)."""
        command = tool.command(self.ctx, scenario)
        command.env.setdefault("CORRAL_CACHE_DIR", str(self.ctx.cache(tool.name)))
        return command

    def log_path(self, tool: Tool, what: str) -> Path:
        self.counter += 1
        return self.ctx.work / "logs" / f"{self.counter:04d}-{tool.name}-{what}.log"


# --- machine, versions ----------------------------------------------------------------------


def machine_info(path: Path) -> dict[str, str]:
    info = {
        "cpu": platform.processor() or platform.machine(),
        "cores": str(os.cpu_count()),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["ram"] = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    info["disk"] = _disk(path)
    return info


def _disk(path: Path) -> str:
    try:
        done = subprocess.run(
            ["findmnt", "-no", "SOURCE,FSTYPE", "-T", str(path)],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    source, _, fstype = done.stdout.strip().partition(" ")
    device = Path(source).name
    kind = "unknown medium"
    for name in (device, re.sub(r"p?\d+$", "", device)):
        rotational = Path(f"/sys/block/{name}/queue/rotational")
        if rotational.exists():
            value = rotational.read_text().strip()
            kind = "rotational" if value == "1" else "non-rotational"
            break
    if device.startswith("vd"):
        kind = f"virtio block device, kernel reports {kind}"
    return f"{source} ({fstype.strip()}, {kind})"


def tool_versions(ctx: Context) -> dict[str, str]:
    versions: dict[str, str] = {}
    for program, flag in (
        ("cp", "--version"),
        ("rsync", "--version"),
        ("gzip", "--version"),
        ("brotli", "--version"),
        ("sha256sum", "--version"),
    ):
        if shutil.which(program):
            ok, _ = _probe([program, flag])
            done = subprocess.run([program, flag], capture_output=True, text=True, check=False)
            first = (done.stdout or done.stderr).strip().splitlines()
            if ok and first:
                line = " ".join(first[0].split())
                versions[program] = line.removeprefix(program).strip(" :")
    ok, out = _probe([ctx.python, "-c", "import sys; print(sys.version.split()[0])"])
    if ok:
        versions["python (Django tools)"] = out
    if ctx.corral:
        ok, out = _probe([ctx.corral, "--version"])
        if ok:
            versions["corral"] = out.removeprefix("corral").strip()
    if commit := corral_commit(_corral_python(ctx)):
        versions["corral commit"] = commit
    return versions


def _corral_python(ctx: Context) -> str:
    """The interpreter of the corral under test: the one beside ``--corral`` when that
    executable lives in its own environment (an A/B of two builds), else ``--python``."""
    if ctx.corral:
        beside = Path(ctx.corral).parent / "python"
        if beside.exists():
            return str(beside)
    return ctx.python


def corral_commit(python: str) -> str:
    """The commit of the corral that ``python`` imports (this checkout, or a pinned copy
    such as ``git clone --shared`` of it put first on ``PYTHONPATH``), with "+ changes"
    when its ``src/`` differs from that commit; empty if it is not in a git checkout."""
    ok, where = _probe(
        [
            python,
            "-c",
            "import corral, os; print(os.path.dirname(os.path.abspath(corral.__file__)))",
        ]
    )
    checkout = Path(where) if ok else REPO
    try:
        commit = subprocess.run(
            ["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "-C", str(checkout), "status", "--porcelain", "--", "."],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""
    return f"{commit} + changes" if changed else commit


# --- reporting ------------------------------------------------------------------------------


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _busy(run: Run) -> float:
    return (run.user + run.sys) / (run.wall * _cores()) if run.wall > 0 else 0.0


def _phase_busy(run: Run, phase: str) -> float | None:
    """CPU time / (wall x cores) of one phase of a corral run (its ``--json`` timings)."""
    wall = run.report.get("timings", {}).get(phase)
    cpu = run.report.get("cpu_timings", {}).get(phase)
    if not wall or cpu is None or wall < 0.5:  # too short to say anything
        return None
    return float(cpu) / (float(wall) * _cores())


def _fmt_s(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2f} s" if seconds < 100 else f"{seconds:.0f} s"


def _cell_text(cell: dict[str, Any], repeat: int = 0) -> str:
    """One cell; the number of runs is named when it is not the table's ``repeat``."""
    status = cell["status"]
    if status == "n/a":
        return DASH
    if status in {"skipped", "not run"}:
        return str(status)
    if status == "failed":
        return "**failed**"
    runs = len(cell["runs"])
    spread = f"{_fmt_s(cell['min'])}{DASH}{_fmt_s(cell['max'])}" if runs > 1 else "1 run"
    if runs > 1 and runs != repeat:
        spread += f", {runs} runs"
    cpu = f" \u00b7 CPU {_fmt_s(cell['cpu'])}" if "cpu" in cell else ""
    if "busy" in cell:
        cpu += f" ({cell['busy']:.0%} busy)"
    if "compress_busy" in cell:
        cpu += f"; compressing {_fmt_s(cell['compress_wall'])}, {cell['compress_busy']:.0%} busy"
    rss = f"{cell['rss_mib']:.0f} MiB"
    if cell.get("tree_rss_mib", 0) > cell["rss_mib"] + 1:
        rss += f" (tree {cell['tree_rss_mib']:.0f})"
    return f"{_fmt_s(cell['median'])} ({spread}){cpu} \u00b7 {rss}"


def markdown(data: dict[str, Any]) -> str:
    """The results block of docs/performance.md."""
    meta = data["meta"]
    out = [
        "**Machine:** " + ", ".join(f"{k} {v}" for k, v in meta["machine"].items()) + ".",
        "",
        "**Versions:** " + "; ".join(f"{k} {v}" for k, v in _main_versions(meta)) + ".",
        "",
    ]
    corpora = data["corpora"]
    for entry in corpora:  # tools in the canonical order, whatever order --tools gave
        entry["tools"] = dict(
            sorted(entry["tools"].items(), key=lambda kv: list(TOOLS).index(kv[0]))
        )
        c = entry["corpus"]
        run_info = entry.get("run", meta)
        scenarios = run_info["scenarios"]
        out += [
            f"### Corpus `{c['size']}`: {c['logical_files']:,} files, "
            f"{c['logical_bytes'] / 1e6:,.1f} MB",
            "",
            f"{len(c['sources'])} sources ({c['files']:,} source files, {c['conflicts']} "
            "shadowed duplicates).",
            "",
            *_runs_text(entry, run_info),
            f"Each cell: median wall time (min{DASH}max over {run_info['repeat']} runs unless "
            "noted) \u00b7 median CPU time (user + system, all processes) \u00b7 peak RSS.",
            "",
        ]

        out.append("| tool | " + " | ".join(SCENARIOS[s] for s in scenarios) + " |")
        out.append("|---|" + "---|" * len(scenarios))
        for name, tool in entry["tools"].items():
            row = entry["results"][name]
            out.append(
                f"| {tool['label']} | "
                + " | ".join(
                    _cell_text(row.get(s, {"status": _absent(name, s)}), run_info["repeat"])
                    for s in scenarios
                )
                + " |"
            )
        out.append("")
        out += _ratios(entry, scenarios)
        notes = [f"- `{n}`: {t['note']}" for n, t in entry["tools"].items() if t["note"]]
        failures = [
            f"- `{n}` {s}: {textwrap.shorten(cell['note'], 400)}"
            for n, row in entry["results"].items()
            for s, cell in row.items()
            if cell["status"] == "failed"
        ]
        if notes or failures:
            out += ["Notes:", "", *notes, *failures, ""]
    if len(corpora) > 1:
        out += _scaling(
            corpora,
            [s for s in SCENARIOS if any(s in e.get("run", meta)["scenarios"] for e in corpora)],
        )
    return "\n".join(out).rstrip() + "\n"


def _absent(tool: str, scenario: str) -> str:
    """The status of a scenario a (merged) run has no cell for."""
    known = TOOLS.get(tool)
    return "not run" if known and scenario in known.scenarios else "n/a"


def _ratio(value: float) -> str:
    """Two significant digits: 0.25x, 1.3x, 0.0016x."""
    return (f"{value:.2f}" if value >= 0.1 else f"{value:.2g}") + TIMES


def _load_text(load: Sequence[float]) -> str:
    if len(load) < 6:
        return ""
    return (
        f" Load average (1/5/15 min) before {load[0]}/{load[1]}/{load[2]}, after "
        f"{load[3]}/{load[4]}/{load[5]}."
    )


def _runs_text(entry: dict[str, Any], run_info: dict[str, Any]) -> list[str]:
    runs = entry.get("runs") or [{**run_info, "load": entry.get("load", []), "tools": []}]
    if len(runs) > 1:  # merged: name only the runs whose results are shown
        runs = [r for r in runs if r["tools"]]
    if len(runs) == 1:
        r = runs[0]
        cut = (
            " The run was interrupted; cells marked not run were not reached."
            if r.get("interrupted")
            else ""
        )
        return [f"Measured {r['date']} with `{r['command']}`.{_load_text(r['load'])}{cut}", ""]
    out = [f"Measured in {len(runs)} runs, merged tool by tool:", ""]
    machines = len({r.get("cpu", "") for r in runs}) > 1
    for i, r in enumerate(runs, 1):
        tools = ", ".join(f"`{n}`" for n in r["tools"]) or "none kept"
        corral = f" corral at `{r['corral']}`." if r.get("corral") else ""
        cpu = f" On {r.get('cpu') or 'an unrecorded CPU'}." if machines else ""
        out.append(
            f"{i}. {r['date']}: `{r['command']}` (kept: {tools}).{corral}{cpu}"
            f"{_load_text(r['load'])}"
        )
    return [*out, ""]


def _main_versions(meta: dict[str, Any]) -> list[tuple[str, str]]:
    """Versions worth printing: tools, the packages pinned for themselves (not transitive)."""
    wanted = {f"pypi:{name}".lower() for name in corpus_mod.main_requirements()}
    return [
        (k, v)
        for k, v in meta["versions"].items()
        if not k.startswith("pypi:") or k.lower() in wanted
    ]


def _median(entry: dict[str, Any], tool: str, scenario: str, key: str = "median") -> float | None:
    cell = entry["results"].get(tool, {}).get(scenario)
    if not cell or cell["status"] != "ok" or not cell["runs"] or not cell.get(key):
        return None
    return float(cell[key])


#: Who each corral variant is compared with: tools doing the same work, and the floors.
COMPARE: dict[str, tuple[str, ...]] = {
    "corral": (
        "whitenoise",
        "django-manifest",
        "gzip",
        "brotli",
        "zstd",
        "gzip+brotli",
        "gzip+brotli+zstd",
        "cli-levels",
    ),
    "corral-hash": ("django-manifest", "cp", "rsync", "sha256sum"),
    "corral-copy": ("django-static", "cp", "rsync"),
    # The drop-in with Django's storages does no compression (only CorralStorage does).
    "corral-django": ("django-manifest", "corral-hash"),
    "corral-django-static": ("django-static",),
}
_SUMS = {"gzip+brotli": ("gzip", "brotli"), "gzip+brotli+zstd": ("gzip", "brotli", "zstd")}


def _value(entry: dict[str, Any], tool: str, scenario: str, key: str) -> float | None:
    if tool in _SUMS:
        parts = [_median(entry, t, scenario, key) for t in _SUMS[tool]]
        return sum(p for p in parts if p) if all(parts) else None
    return _median(entry, tool, scenario, key)


def _machines(entry: dict[str, Any], tool: str, scenario: str) -> set[str]:
    """The CPUs the cells behind ``tool`` (or each tool of a sum) were measured on."""
    runs = entry.get("runs") or []
    found = set()
    for name in _SUMS.get(tool, (tool,)):
        cell = entry["results"].get(name, {}).get(scenario)
        index = cell.get("from_run", 0) if cell else None
        if index is not None and index < len(runs) and runs[index].get("cpu"):
            found.add(runs[index]["cpu"])
    return found


def _ratios(entry: dict[str, Any], scenarios: Sequence[str]) -> list[str]:
    mine = [
        n
        for n, t in entry["tools"].items()
        if t["kind"] == "corral" and any(_median(entry, n, s) for s in scenarios)
    ]
    if not mine:
        return ["corral: not available yet on this run, so no ratios.", ""]
    out = [
        "Ratios: each corral variant's median time \u00f7 the other tool's median time in the "
        "same scenario, against the tools that do the same work and the floors (below 1 "
        "means corral is faster). In brackets the same ratio of CPU time, which a busy "
        "machine disturbs less. No ratio is given between cells measured on different "
        "machines.",
        "",
        "| corral | vs | " + " | ".join(SCENARIOS[s] for s in scenarios) + " |",
        "|---|---|" + "---|" * len(scenarios),
    ]
    for name in mine:
        for other in COMPARE.get(name, ()):
            cells = []
            for s in scenarios:
                a, b = _median(entry, name, s), _value(entry, other, s, "median")
                ca, cb = _median(entry, name, s, "cpu"), _value(entry, other, s, "cpu")
                if len(_machines(entry, name, s) | _machines(entry, other, s)) > 1:
                    cells.append(f"{DASH} (other machine)")  # no ratio across machines
                    continue
                text = _ratio(a / b) if a and b else DASH
                if a and b and ca and cb:
                    text += f" (CPU {_ratio(ca / cb)})"
                cells.append(text)
            if any(c != DASH for c in cells):
                label = (
                    f"floors {' + '.join(_SUMS[other])}, added"
                    if other in _SUMS
                    else entry["tools"][other]["label"]
                )
                out.append(f"| `{name}` | {label} | " + " | ".join(cells) + " |")
    return [*out, ""]


def _scaling(corpora: Sequence[dict[str, Any]], scenarios: Sequence[str]) -> list[str]:
    out = [
        "### Scaling: milliseconds per 1,000 files",
        "",
        "Median time divided by the corpus's logical file count. A tool that scales linearly "
        "keeps the same figure as the corpus grows.",
        "",
    ]
    header = [f"{e['corpus']['size']} ({e['corpus']['logical_files']:,})" for e in corpora]
    for scenario in [s for s in ("cold", "nochange", "touch1pct") if s in scenarios]:
        out += [
            f"**{SCENARIOS[scenario]}**",
            "",
            "| tool | " + " | ".join(header) + " |",
            "|---|" + "---|" * len(corpora),
        ]
        for name, tool in corpora[0]["tools"].items():
            cells = []
            for entry in corpora:
                m = _median(entry, name, scenario)
                files = entry["corpus"]["logical_files"]
                cells.append(f"{m / files * 1e6:.0f}" if m else DASH)
            if any(c != DASH for c in cells):
                out.append(f"| {tool['label']} | " + " | ".join(cells) + " |")
        out.append("")
    return out


_DOC_HEAD = """\
# Performance

How corral compares with the tools people use today, on the same real corpus, on the same
machine, in the same run, as written by `benchmarks/run.py` (see `benchmarks/README.md`
to reproduce it).

- **Corpus**: real static files from pinned PyPI packages (Django admin, DRF,
  django-debug-toolbar, Wagtail, Jazzmin, Grappelli, CKEditor 5, TinyMCE, drf-spectacular
  sidecar) and pinned npm packages (Bootstrap, Popper, Leaflet, jQuery, Font Awesome,
  Swagger UI, pdf.js, TinyMCE, MathJax 3, Chart.js, KaTeX, ...), laid out once as a Django
  project and once as a `[tool.corral]` project with the same sources in the same order.
- **Scenarios**: cold collect into an empty target; no-change re-run; re-run after 1% of the
  files (a fixed pseudo-random selection) were rewritten; re-run after one CSS file changed;
  a `--clear` run.
- **Method**: every run is a fresh child process (interpreter start-up included), timed by
  wall clock, with peak RSS from `wait4`. Tools alternate run by run, never all runs of one
  tool back to back. The page cache is warm (no cache dropping): these are the times of a
  deploy on a machine that has the files, which is the common case. Dirty pages are written
  out (`sync`) after each run's untimed set-up, so no run pays for another's deletions.
- **Floors** are what the hardware and the standard tools need for the same bytes: `cp -r`
  and `rsync -a` of every source, `sha256sum` of every file, and `gzip -9` / `brotli -q 11`
  over the files WhiteNoise would compress, with one process per core.

"""


def write_markdown(path: Path, block: str, name: str = "results") -> None:
    """Replace the block ``name`` of ``path`` (between ``<!-- bench:NAME:start -->`` and
    ``<!-- bench:NAME:end -->``), or write the whole page if it does not exist.

    A page that exists but lacks the block is an error: the markers say where it goes.
    """
    start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    wrapped = f"{start}\n{block}{end}\n"
    if path.exists():
        text = path.read_text()
        if start in text and end in text:
            head, _, rest = text.partition(start)
            _, _, tail_text = rest.partition(end)
            path.write_text(head + wrapped + tail_text.lstrip("\n"))
            return
        raise SystemExit(
            f"{path} has no complete block {name!r}: put the lines {start} and {end} "
            "where it belongs, then run again"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_DOC_HEAD + "## Results\n\n" + wrapped)


# --- profiling ------------------------------------------------------------------------------

_PROFILE_SCRIPT = r"""
import cProfile, pstats, sys
from corral import cli
out, argv = sys.argv[1], sys.argv[2:]
profile = cProfile.Profile()
code = profile.runcall(cli.main, argv)
profile.dump_stats(out)
sys.exit(code)
"""


def profile(ctx: Context, out_dir: Path, top: int, extra: Sequence[str] = ()) -> str:
    """Profile ``corral collect`` (cold, then no-change) under cProfile; return a report."""
    python = ctx.python
    ok, last = _probe([python, "-c", "import corral.cli"])
    if not ok:
        return f"corral can't be profiled: `import corral.cli` fails with {python} ({last})\n"
    out_dir.mkdir(parents=True, exist_ok=True)
    target = ctx.work / "targets" / "profile"
    remove_tree(target)
    report = [
        f"# corral collect {' '.join(extra)} under cProfile: corpus {ctx.corpus.size} "
        f"({ctx.corpus.logical_files} files)\n"
    ]
    for scenario in ("cold", "nochange"):
        prof = out_dir / f"corral-{ctx.corpus.size}-{scenario}.prof"
        argv = [
            python,
            "-c",
            _PROFILE_SCRIPT,
            str(prof),
            "collect",
            "--config",
            str(ctx.corral_config),
            "--root",
            str(target),
            "-q",
            *extra,
        ]
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            report.append(
                f"## {scenario}: failed (exit {done.returncode})\n\n"
                f"```\n{done.stderr[-2000:]}\n```\n"
            )
            continue
        for order in ("cumulative", "tottime"):
            stream = _StringStream()
            stats = pstats.Stats(str(prof), stream=stream)  # type: ignore[arg-type]
            stats.strip_dirs().sort_stats(order).print_stats(top)
            report.append(
                f"## {scenario} ({wall:.2f} s wall incl. profiling overhead), "
                f"top {top} by {order}\n\n```\n{stream.text()}\n```\n"
            )
    spy = Path(python).parent / "py-spy"
    spy_exe = str(spy) if spy.exists() else shutil.which("py-spy")
    if spy_exe:
        report.append(
            "## py-spy (all threads and worker processes; cProfile above sees only the main "
            "thread)\n"
        )
        remove_tree(target)
        for scenario in ("cold", "nochange"):
            report.append(
                _py_spy(
                    spy_exe,
                    python,
                    ctx,
                    target=target,
                    out_dir=out_dir,
                    scenario=scenario,
                    top=top,
                    extra=extra,
                )
            )
    else:
        report.append(
            "(py-spy is not installed: `pip install py-spy` for a profile that "
            "includes worker threads and processes)\n"
        )
    remove_tree(target)
    text = "\n".join(report)
    (out_dir / f"corral-{ctx.corpus.size}-profile.md").write_text(text)
    return text


def _py_spy(
    spy: str,
    python: str,
    ctx: Context,
    *,
    target: Path,
    out_dir: Path,
    scenario: str,
    top: int,
    extra: Sequence[str],
) -> str:
    """Sample one ``corral collect`` with py-spy; return self/total time per function."""
    raw = out_dir / f"corral-{ctx.corpus.size}-{scenario}.pyspy.txt"
    argv = [
        spy,
        "record",
        "--format",
        "raw",
        "--rate",
        "250",
        "--subprocesses",
        "-o",
        str(raw),
        "--",
        python,
        "-m",
        "corral",
        "collect",
        "--config",
        str(ctx.corral_config),
        "--root",
        str(target),
        "-q",
        *extra,
    ]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not raw.exists():
        return f"py-spy {scenario}: failed (exit {done.returncode}): {done.stderr[-500:]}\n"
    own: dict[str, int] = {}
    total: dict[str, int] = {}
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        samples += count
        # py-spy prefixes each stack with "process N:..." (and "thread (0x...)") frames.
        frames = [
            f for f in stack.split(";") if f.strip() and not f.startswith(("process ", "thread "))
        ]
        if not frames:
            continue
        own[frames[-1]] = own.get(frames[-1], 0) + count
        for frame in set(frames):
            total[frame] = total.get(frame, 0) + count

    def table(counts: dict[str, int]) -> str:
        best = sorted(counts.items(), key=lambda kv: -kv[1])[:top]
        return "\n".join(f"{n / max(samples, 1) * 100:6.1f}%  {frame}" for frame, n in best)

    return (
        f"### {scenario}: {samples} samples at 250 Hz\n\nself time (leaf frames):\n\n"
        f"```\n{table(own)}\n```\n\ntotal time (frames on the stack):\n\n"
        f"```\n{table(total)}\n```\n"
    )


class _StringStream:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    def text(self) -> str:
        return "".join(self.parts).strip()


# --- command line -------------------------------------------------------------------------


def find_corral(python: str, explicit: str | None) -> str | None:
    if explicit:
        return explicit
    beside = Path(python).parent / "corral"
    if beside.exists():
        return str(beside)
    return shutil.which("corral")


def make_context(corpus_dir: Path, args: argparse.Namespace) -> Context:
    corpus = corpus_mod.Corpus.load(corpus_dir)
    python = args.python or corpus.python or sys.executable
    work = (args.work or corpus_dir / "bench-work").resolve()
    remove_tree(work)
    (work / "targets").mkdir(parents=True)
    return Context(
        corpus=corpus,
        root=corpus_dir.resolve(),
        work=work,
        python=python,
        corral=find_corral(python, args.corral),
        timeout=args.timeout,
        winners=corpus_mod.logical_files(corpus.sources),
        caches=args.caches.resolve() / corpus_dir.resolve().name if args.caches else None,
    )


def _split(values: Sequence[str] | None, known: Sequence[str], what: str) -> list[str]:
    if not values:
        return list(known)
    chosen = [v for value in values for v in value.split(",") if v]
    unknown = [v for v in chosen if v not in known]
    if unknown:
        raise SystemExit(f"unknown {what}: {', '.join(unknown)} (known: {', '.join(known)})")
    return chosen


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    tool_help = "\n".join(f"  {t.name:22s} {t.label}" for t in ALL_TOOLS)
    scen_help = "\n".join(f"  {k:10s} {v}" for k, v in SCENARIOS.items())
    parser = argparse.ArgumentParser(
        prog="run.py",
        description="Time corral against Django, WhiteNoise and the floors on a corpus built "
        "by benchmarks/corpus.py.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"tools:\n{tool_help}\n\nscenarios:\n{scen_help}\n\nexamples:\n"
        "  python benchmarks/run.py --smoke\n"
        "  python benchmarks/run.py --corpus /tmp/corpus-small --corpus /tmp/corpus-medium \\\n"
        "      --repeat 5 --json results.json --markdown report.md\n"
        "  python benchmarks/run.py --corpus /tmp/corpus-large --tools corral --profile\n",
    )
    parser.add_argument(
        "--corpus",
        type=Path,
        action="append",
        default=[],
        help="a corpus directory (repeat for several sizes: adds a scaling table)",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="build the offline smoke corpus in a temporary directory and run "
        "every scenario once (the CI check; under a minute)",
    )
    parser.add_argument(
        "--tools", action="append", help="comma-separated tools to run (default: all)"
    )
    parser.add_argument(
        "--scenarios", action="append", help="comma-separated scenarios (default: all)"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per tool and scenario (default %(default)s)"
    )
    parser.add_argument(
        "--repeat-for",
        action="append",
        default=[],
        metavar="TOOL=N",
        help="a different number of runs for one tool (e.g. whitenoise=1)",
    )
    parser.add_argument(
        "--scenarios-for",
        action="append",
        default=[],
        metavar="TOOL=S1,S2",
        help="run only these scenarios for one tool (e.g. whitenoise=cold,"
        "nochange for a tool too slow to run everywhere)",
    )
    parser.add_argument("--json", type=Path, help="write the raw results here")
    parser.add_argument(
        "--markdown",
        type=Path,
        help="write the Markdown report here (replaces the results block of an "
        "existing page such as benchmarks/results/HISTORY.md)",
    )
    parser.add_argument(
        "--block",
        default="results",
        metavar="NAME",
        help="which block of the --markdown page to replace: the one between "
        "<!-- bench:NAME:start --> and <!-- bench:NAME:end --> (default: %(default)s)",
    )
    parser.add_argument(
        "--python",
        help="interpreter for the Django tools (default: the one "
        "recorded in corpus.json, else this one)",
    )
    parser.add_argument(
        "--corral", help="corral executable (default: next to --python, else on PATH)"
    )
    parser.add_argument(
        "--work",
        type=Path,
        help="scratch directory for targets and logs (default: CORPUS/bench-work; emptied first)",
    )
    parser.add_argument(
        "--keep-work", action="store_true", help="keep targets and logs after the run"
    )
    parser.add_argument(
        "--caches",
        type=Path,
        help="keep the tools' compression caches here (one directory per corpus and tool), "
        "not in --work: a later invocation's warm runs reuse what an earlier one filled "
        "(cold runs still empty their tool's cache first)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help="seconds before one run is killed (default %(default)s)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="instead of timing, run corral collect (cold and no-change) under "
        "cProfile (and py-spy if installed) and print the top entries",
    )
    parser.add_argument("--profile-top", type=int, default=30, help="entries per profile table")
    parser.add_argument(
        "--corral-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument for the profiled `corral collect` (repeatable; "
        "e.g. --corral-arg=--no-compress)",
    )
    parser.add_argument(
        "--from-json",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="run nothing: render the report from raw JSON written by "
        "earlier runs (repeat to merge corpora, e.g. a separate large run)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the report")
    args = parser.parse_args(argv)
    if not args.corpus and not args.smoke and not args.from_json:
        parser.error("give --corpus DIR (built by benchmarks/corpus.py), --smoke or --from-json")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


class _Interrupts:
    """Ctrl-C and SIGTERM end the benchmark, keeping the results so far; while a command
    is being started they are held back (see :func:`_interrupts_deferred`)."""

    deferring = False
    pending = False


def _interrupt(signum: int, frame: object) -> None:
    if _Interrupts.deferring:
        _Interrupts.pending = True
        return
    raise KeyboardInterrupt


@contextlib.contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back while a command starts: raised inside
    ``subprocess.Popen``, they would leave a started command with no handle to kill it."""
    _Interrupts.deferring = True
    try:
        yield
    finally:
        _Interrupts.deferring = False
        if _Interrupts.pending:
            _Interrupts.pending = False
            raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    if args.from_json:
        return _report_from_json(args)
    tool_names = _split(args.tools, list(TOOLS), "tools")
    scenarios = _split(args.scenarios, list(SCENARIOS), "scenarios")
    repeat_for: dict[str, int] = {}
    for item in args.repeat_for:
        name, _, count = item.partition("=")
        if name not in TOOLS or not count.isdigit() or int(count) < 1:
            raise SystemExit(f"--repeat-for wants TOOL=N with a known tool, not {item!r}")
        repeat_for[name] = int(count)
    scenarios_for: dict[str, frozenset[str]] = {}
    for item in args.scenarios_for:
        name, _, listed = item.partition("=")
        if name not in TOOLS:
            raise SystemExit(f"--scenarios-for wants TOOL=S1,S2 with a known tool, not {item!r}")
        scenarios_for[name] = frozenset(_split([listed], list(SCENARIOS), "scenarios"))
    with _corpora(args) as corpus_dirs:
        if args.smoke:
            args.repeat = 1
        if args.profile:
            for corpus_dir in corpus_dirs:
                ctx = make_context(corpus_dir, args)
                out_dir = args.work or ctx.work
                print(profile(ctx, out_dir / "profile", args.profile_top, args.corral_arg))
                if not args.keep_work:
                    remove_tree(ctx.work)
            return 0
        return _bench(
            args,
            corpus_dirs,
            tool_names,
            scenarios,
            Plan(repeat=args.repeat, repeat_for=repeat_for, scenarios_for=scenarios_for),
        )


def _bench(
    args: argparse.Namespace,
    corpus_dirs: Sequence[Path],
    tool_names: Sequence[str],
    scenarios: Sequence[str],
    plan: Plan,
) -> int:
    results: list[CorpusResult] = []
    ctx: Context | None = None
    interrupted = False
    for corpus_dir in corpus_dirs:
        ctx = make_context(corpus_dir, args)
        if not args.quiet:
            print(
                f"== corpus {ctx.corpus.size}: {ctx.corpus.logical_files} files, "
                f"{ctx.corpus.logical_bytes / 1e6:.1f} MB; work in {ctx.work}"
            )
        bench = Bench(ctx, [TOOLS[n] for n in tool_names], scenarios, plan, echo=not args.quiet)
        load_before = os.getloadavg()
        results.append(bench.run())
        results[-1].load = [round(x, 2) for x in (*load_before, *os.getloadavg())]
        if not args.keep_work:
            remove_tree(ctx.work)
        if bench.interrupted:
            interrupted = True
            break
    assert ctx is not None
    command = "python benchmarks/run.py " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if not args.smoke else ["--smoke"])
    )
    data: dict[str, Any] = {
        "meta": {
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "command": command,
            "repeat": args.repeat,
            "repeat_for": plan.repeat_for,
            "scenarios_for": {k: sorted(v) for k, v in plan.scenarios_for.items()},
            "scenarios": list(scenarios),
            "machine": machine_info(ctx.root),
            "versions": {**tool_versions(ctx), **ctx.corpus.versions},
            "interrupted": interrupted,
        },
        "corpora": [r.to_json() for r in results],
    }
    for entry in data["corpora"]:
        entry["run"] = _run_info(data["meta"])
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(data, indent=1) + "\n")
    block = markdown(data)
    if args.markdown:
        write_markdown(args.markdown, block, args.block)
    print(block)
    failed = [
        (n, s)
        for r in results
        for n, row in r.cells.items()
        for s, c in row.items()
        if c.status == "failed"
    ]
    if interrupted:
        return 130
    return 1 if failed else 0


def _run_info(meta: dict[str, Any]) -> dict[str, Any]:
    keys = ("date", "command", "repeat", "repeat_for", "scenarios_for", "scenarios", "interrupted")
    return {**{k: meta[k] for k in keys if k in meta}, "cpu": _cpu(meta)}


def _cpu(meta: dict[str, Any]) -> str:
    """The processor a run was measured on ("" if its file predates recording it)."""
    return str(meta.get("machine", {}).get("cpu", ""))


def merge_results(paths: Sequence[Path]) -> dict[str, Any]:
    """Combine raw JSON files of several runs into one report.

    Different corpora are listed side by side (e.g. small+medium from one run, large from
    another). Runs on the same corpus are merged tool by tool: a later run's results for a
    tool it actually ran replace the earlier ones (e.g. a quick re-run of corral after a new
    build, keeping a slow WhiteNoise measurement). The report names every run and which
    tools came from which.
    """
    merged: dict[str, Any] = {"meta": {}, "corpora": []}
    by_corpus: dict[tuple[str, str], dict[str, Any]] = {}
    loaded = [json.loads(path.read_text()) for path in paths]
    loaded.sort(key=lambda data: data["meta"]["date"])  # oldest first: later runs win
    # Every run of every file, oldest first; a merged file (e.g. results/DATE.json) counts
    # as the runs it was merged from, so merging it again keeps their names and order.
    single = [(info, entry) for data in loaded for info, entry in _runs_of(data)]
    single.sort(key=lambda pair: pair[0]["date"])
    for info, entry in single:
        key = (entry["corpus"]["size"], entry["corpus"]["directory"])
        base = by_corpus.get(key)
        if base is None:
            base = {**entry, "runs": [], "run": dict(info), "tools": {}, "results": {}}
            by_corpus[key] = base
            merged["corpora"].append(base)
        index = len(base["runs"])
        base["runs"].append(info)
        base["run"]["scenarios"] = [
            s for s in SCENARIOS if s in base["run"]["scenarios"] or s in info["scenarios"]
        ]
        for name, tool in entry["tools"].items():
            cells = base["results"].setdefault(name, {})
            if tool["available"] == "yes" or name not in base["tools"]:
                base["tools"][name] = tool
            for scenario, cell in entry["results"][name].items():
                measured = cell["status"] in {"ok", "failed"}
                if measured or scenario not in cells:
                    cells[scenario] = {**cell, "from_run": index}
    for base in merged["corpora"]:
        for index, run_entry in enumerate(base["runs"]):
            run_entry["tools"] = sorted(
                {
                    name
                    for name, cells in base["results"].items()
                    for cell in cells.values()
                    if cell.get("from_run") == index and cell["status"] in {"ok", "failed"}
                },
                key=list(TOOLS).index,
            )
    for data in loaded:  # the newest run's machine; every version seen
        merged["meta"] = {
            **data["meta"],
            "versions": {**merged["meta"].get("versions", {}), **data["meta"]["versions"]},
        }
    if len({d["meta"]["versions"].get("corral commit") for d in loaded}) > 1:
        merged["meta"]["versions"]["corral commit"] = "per run, below"
    if len({info["cpu"] for info, _ in single}) > 1:  # runs on different machines
        merged["meta"]["machine"] = {**merged["meta"]["machine"], "cpu": "per run, below"}
    order = {name: i for i, name in enumerate(corpus_mod.SIZES)}
    merged["corpora"].sort(
        key=lambda e: (order.get(e["corpus"]["size"], 99), e["corpus"]["logical_files"])
    )
    return merged


def _runs_of(data: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """``(run info, corpus entry with only that run's cells)`` for each run in ``data``."""
    commit = data["meta"]["versions"].get("corral commit", "")
    for entry in data["corpora"]:
        runs = entry.get("runs")
        if not runs:  # written by one run
            info = dict(entry.get("run") or _run_info(data["meta"]))
            info.setdefault("cpu", _cpu(data["meta"]))  # written before runs named their CPU
            yield {**info, "load": entry.get("load", []), "corral": commit}, entry
            continue
        for index, run_entry in enumerate(runs):  # written by merge_results
            info = {k: v for k, v in run_entry.items() if k != "tools"}
            info.setdefault("cpu", _cpu(data["meta"]))  # merged before runs named their CPU
            results = {
                name: {s: c for s, c in cells.items() if c.get("from_run", 0) == index}
                for name, cells in entry["results"].items()
            }
            part = {k: v for k, v in entry.items() if k not in {"runs", "run", "results"}}
            yield info, {**part, "load": info.get("load", []), "results": results}


def _report_from_json(args: argparse.Namespace) -> int:
    data = merge_results(args.from_json)
    if args.json:
        args.json.write_text(json.dumps(data, indent=1) + "\n")
    block = markdown(data)
    if args.markdown:
        write_markdown(args.markdown, block, args.block)
    print(block)
    return 0


@contextlib.contextmanager
def _corpora(args: argparse.Namespace) -> Iterator[list[Path]]:
    if not args.smoke:
        yield [Path(c) for c in args.corpus]
        return
    with tempfile.TemporaryDirectory(prefix="corral-bench-smoke-") as tmp:
        corpus_mod.build("smoke", Path(tmp), install=False, quiet=True)
        yield [Path(tmp)]


if __name__ == "__main__":
    raise SystemExit(main())
