"""Run Django's own ``staticfiles_tests`` against corral's drop-in classes.

Downloads the source distribution of the installed Django version (cached), extracts its
``tests/`` directory and runs ``tests/runtests.py staticfiles_tests`` in a child interpreter
that first replaces Django's ``StaticFilesStorage``, ``ManifestStaticFilesStorage`` and
``collectstatic`` ``Command`` with corral's. Failures must be exactly the deliberate
differences listed in docs/django-compat.md.

    python scripts/django_conformance.py             # corral's classes swapped in
    python scripts/django_conformance.py --stock     # the baseline: Django's own classes
    python scripts/django_conformance.py staticfiles_tests.test_storage --json out.json

Exit status: 0 when every failure is a listed difference and every listed test still fails;
1 when not; 2 when the harness itself could not run the suite.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DOC = REPO / "docs" / "django-compat.md"
DEFAULT_LABEL = "staticfiles_tests"
CACHE_ENV = "CORRAL_DJANGO_SDIST_CACHE"
SWAP_ENV = "CORRAL_CONFORMANCE_SWAP"
SWAP_MODULE = "_corral_conformance_swap"

Outcome = Literal["ok", "FAIL", "ERROR", "skipped", "expected failure", "unexpected success"]
PASSING: frozenset[str] = frozenset({"ok", "expected failure"})
FAILING: frozenset[str] = frozenset({"FAIL", "ERROR", "unexpected success"})
# Worst first: a test with several reported statuses (subtests) keeps the worst.
_SEVERITY: dict[str, int] = {
    "ERROR": 5,
    "FAIL": 4,
    "unexpected success": 3,
    "skipped": 2,
    "expected failure": 1,
    "ok": 0,
}
# unittest reports a failing class/module fixture as "setUpClass (module.Class) ... ERROR".
_FIXTURES = frozenset({"setUpClass", "tearDownClass", "setUpModule", "tearDownModule"})

# The swap, as a module written into the extracted tests directory. The child imports it
# before runtests.py runs; tests/sitecustomize.py imports it in the subprocesses that some
# tests start (``manage.py help collectstatic``), when SWAP_ENV is set.
SWAP_SOURCE = '''\
"""Written by corral's scripts/django_conformance.py: corral's classes replace Django's."""

from django.contrib.staticfiles import storage as _storage
from django.contrib.staticfiles.management.commands import collectstatic as _collectstatic

from corral.contrib.django import storage as _corral_storage
from corral.contrib.django.management.commands import collectstatic as _corral_collectstatic

_storage.StaticFilesStorage = _corral_storage.StaticFilesStorage
_storage.ManifestStaticFilesStorage = _corral_storage.ManifestStaticFilesStorage
_collectstatic.Command = _corral_collectstatic.Command
'''

SITECUSTOMIZE_HOOK = f"""

# Added by corral's scripts/django_conformance.py: subprocesses see corral's classes too.
import os as _corral_os

if _corral_os.environ.get({SWAP_ENV!r}) == "1":
    import {SWAP_MODULE}  # noqa: F401
"""

# Runs in the child interpreter: argv = [tests_dir, "corral" | "stock", *runtests_args].
BOOTSTRAP = f"""\
import os, runpy, sys
tests_dir, mode, *args = sys.argv[1:]
os.chdir(tests_dir)
sys.path[0] = tests_dir
if mode == "corral":
    import {SWAP_MODULE}
    from django.contrib.staticfiles import storage
    from django.contrib.staticfiles.management.commands import collectstatic
    swapped = [
        storage.StaticFilesStorage, storage.ManifestStaticFilesStorage, collectstatic.Command
    ]
    wrong = [c.__qualname__ for c in swapped if not c.__module__.startswith("corral.")]
    if wrong:
        raise SystemExit("corral-conformance: the swap did not take: " + ", ".join(wrong))
    print("corral-conformance: " + ", ".join(
        c.__module__ + "." + c.__qualname__ for c in swapped
    ) + " swapped in", flush=True)
script = os.path.join(tests_dir, "runtests.py")
sys.argv = [script, *args]
runpy.run_path(script, run_name="__main__")
"""


class HarnessError(Exception):
    """The suite could not be run or its output could not be understood (exit status 2)."""


# --------------------------------------------------------------------------- parsing output


_HEADER = re.compile(
    r"^(?P<indent> *)(?P<name>[A-Za-z_]\w*)"
    r" \((?P<where>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)\)"
    r"(?P<sub> [\[(].*?)?"
    r"(?: \.\.\.(?:$| (?P<tail>.*)))?$"
)
_STATUS = re.compile(
    r"(?:^|(?<=\s))(?:(?P<word>ok|FAIL|ERROR|expected failure|unexpected success)"
    r"|skipped (?P<reason>'.*'|\".*\"))$"
)
_SEPARATOR = re.compile(r"^(?:={70}|-{70})$")
_REPORTED = re.compile(r"^(?P<kind>ERROR|FAIL|UNEXPECTED SUCCESS): (?P<test>.*)$")
_REPORT_KINDS: dict[str, Outcome] = {
    "ERROR": "ERROR",
    "FAIL": "FAIL",
    "UNEXPECTED SUCCESS": "unexpected success",
}
_RAN = re.compile(r"^Ran (\d+) tests? in ")


@dataclass
class TestResults:
    """Per-test outcomes parsed from ``runtests.py -v 2`` output, in the order run."""

    outcomes: dict[str, Outcome] = field(default_factory=dict)
    skip_reasons: dict[str, str] = field(default_factory=dict)
    ran: int | None = None  # the "Ran N tests" count, None if the run never got there

    def with_outcome(self, *outcomes: str) -> list[str]:
        return [test for test, outcome in self.outcomes.items() if outcome in outcomes]

    @property
    def passed(self) -> list[str]:
        return self.with_outcome(*PASSING)

    @property
    def failed(self) -> list[str]:
        return self.with_outcome(*FAILING)

    @property
    def skipped(self) -> list[str]:
        return self.with_outcome("skipped")


def _test_id(name: str, where: str) -> str:
    # Python >= 3.11 prints "test_x (module.Class.test_x)"; older ones "test_x (module.Class)",
    # and failing fixtures "setUpClass (module.Class)".
    return where if where.endswith("." + name) else f"{where}.{name}"


def _status(text: str) -> tuple[Outcome, str] | None:
    match = _STATUS.search(text)
    if match is None:
        return None
    if match["reason"] is not None:
        try:
            reason = str(ast.literal_eval(match["reason"]))
        except (ValueError, SyntaxError):
            reason = match["reason"][1:-1]
        return "skipped", reason
    word: Outcome = match["word"]  # type: ignore[assignment]
    return word, ""


def parse_output(lines: Iterable[str]) -> TestResults:
    """Per-test outcomes from the verbose (``-v 2``) output of a unittest text runner.

    A test is announced as ``name (dotted.id)``, optionally followed by its docstring's first
    line, then `` ... `` and its status. Output a test prints itself may come in between, so
    the status is the first status-shaped line end after the announcement. A failing subtest
    (``  name (dotted.id) (i=1) ... FAIL``) fails its test. The error report after the run
    (``FAIL: name (dotted.id)`` under a line of ``=``) is read too: it names every failure even
    where the status line does not (unittest prints a failing ``setUpClass`` that follows an
    "expected failure" as a bare ``ERROR``).
    """
    results = TestResults()
    pending: str | None = None
    in_report = False

    def record(test: str, outcome: Outcome, reason: str) -> None:
        previous = results.outcomes.get(test)
        if previous is None or _SEVERITY[outcome] > _SEVERITY[previous]:
            results.outcomes[test] = outcome
            if outcome == "skipped":
                results.skip_reasons[test] = reason

    after_separator = False
    for raw in lines:
        line = raw.rstrip("\r\n")
        ran = _RAN.match(line)
        if ran:
            results.ran = int(ran[1])
            continue
        if in_report:
            # Each failure's traceback opens with a line of "=" and "FAIL: name (dotted.id)".
            reported = _REPORTED.match(line) if after_separator else None
            header = _HEADER.match(reported["test"]) if reported else None
            if reported and header:
                test = _test_id(header["name"], header["where"])
                record(test, _REPORT_KINDS[reported["kind"]], "")
            after_separator = line == "=" * 70
            continue
        if _SEPARATOR.match(line):
            in_report = True  # the error report: no more status lines
            after_separator = line == "=" * 70
            pending = None
            continue
        header = _HEADER.match(line)
        if header:
            test = _test_id(header["name"], header["where"])
            if header["sub"]:
                # A subtest's own line; the test itself keeps its pending status.
                status = _status(header["tail"] or "")
                if status and status[0] in FAILING:
                    record(test, *status)
                continue
            pending = test
            if header["tail"] is None:
                continue  # the docstring's first line and the status follow
            line = header["tail"]
        if pending is not None:
            status = _status(line)
            if status is not None:
                record(pending, *status)
                pending = None
    return results


# ---------------------------------------------------------------------- deliberate differences


_ROW = re.compile(r"^\s*\|(?P<first>[^|]*)\|(?P<rest>.*)$")
_ID_IN_CELL = re.compile(r"`([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)`")


def parse_compat_doc(text: str) -> dict[str, str]:
    """Test id -> reason, from the Markdown table rows whose first cell names tests in backticks."""
    listed: dict[str, str] = {}
    for line in text.splitlines():
        row = _ROW.match(line)
        if row is None:
            continue
        ids = _ID_IN_CELL.findall(row["first"])
        reason = row["rest"].strip().strip("|").strip()
        for test in ids:
            listed[test] = reason
    return listed


def _under(test: str, labels: Sequence[str]) -> bool:
    return any(test == label or test.startswith(label + ".") for label in labels)


@dataclass(frozen=True)
class Verdict:
    failing: list[str]  # every failing test, listed or not
    unexpected: list[str]  # failing, not listed
    listed_passing: list[str]  # listed, but passed: the doc is stale
    listed_not_run: list[str]  # listed, within the labels run, but no such test ran
    listed_skipped: list[str]  # listed, skipped here: can't tell (not an error)

    @property
    def ok(self) -> bool:
        return not (self.unexpected or self.listed_passing or self.listed_not_run)


def reconcile(
    results: TestResults, listed: Mapping[str, str], labels: Sequence[str] = (DEFAULT_LABEL,)
) -> Verdict:
    """Compare the failures with the listed deliberate differences."""
    failing = results.failed
    relevant = [test for test in listed if _under(test, labels)]
    return Verdict(
        failing=failing,
        unexpected=[test for test in failing if test not in listed],
        listed_passing=[t for t in relevant if results.outcomes.get(t) in PASSING],
        listed_not_run=[t for t in relevant if t not in results.outcomes],
        listed_skipped=[t for t in relevant if results.outcomes.get(t) == "skipped"],
    )


def summary_line(results: TestResults, version: str, stock: bool) -> str:
    mode = "stock" if stock else "with corral"
    return (
        f"{len(results.passed)} passed, {len(results.failed)} failed, "
        f"{len(results.skipped)} skipped (Django {version} {mode})"
    )


def report(
    results: TestResults,
    listed: Mapping[str, str],
    *,
    version: str,
    stock: bool,
    labels: Sequence[str] = (DEFAULT_LABEL,),
    doc_name: str = "docs/django-compat.md",
    out: list[str] | None = None,
) -> int:
    """Print the failures and the reconciliation with the doc; return the exit status (0 or 1).

    In ``stock`` mode the doc is not consulted: stock Django must pass everything.
    """
    lines: list[str] = [] if out is None else out
    verdict = reconcile(results, {} if stock else listed, labels)
    lines.append("")
    if verdict.failing:
        lines.append(f"failing tests ({len(verdict.failing)}):")
        for test in verdict.failing:
            note = "" if stock or test not in listed else "  (listed)"
            lines.append(f"  {test}  {results.outcomes[test]}{note}")
    if verdict.unexpected:
        where = "stock Django must pass" if stock else f"not listed in {doc_name}"
        lines.append(f"unexpected failures ({len(verdict.unexpected)}) - {where}:")
        lines.extend(f"  {test}" for test in verdict.unexpected)
    if verdict.listed_passing:
        lines.append(
            f"listed but passing ({len(verdict.listed_passing)}) - remove from {doc_name}:"
        )
        lines.extend(f"  {test}" for test in verdict.listed_passing)
    if verdict.listed_not_run:
        lines.append(
            f"listed but not run ({len(verdict.listed_not_run)}) - no such test; fix {doc_name}:"
        )
        lines.extend(f"  {test}" for test in verdict.listed_not_run)
    if verdict.listed_skipped:
        lines.append(f"listed but skipped here ({len(verdict.listed_skipped)}) - not checked:")
        lines.extend(f"  {test}" for test in verdict.listed_skipped)
    lines.append(summary_line(results, version, stock))
    lines.append("conforms" if verdict.ok else "DOES NOT CONFORM")
    if out is None:
        print("\n".join(lines), flush=True)
    return 0 if verdict.ok else 1


def results_json(
    results: TestResults,
    verdict: Verdict,
    *,
    version: str,
    stock: bool,
    labels: Sequence[str],
    seconds: float,
) -> dict[str, object]:
    return {
        "django_version": version,
        "mode": "stock" if stock else "corral",
        "labels": list(labels),
        "counts": {
            "passed": len(results.passed),
            "failed": len(results.failed),
            "skipped": len(results.skipped),
            "total": len(results.outcomes),
        },
        "tests": dict(results.outcomes),
        "skip_reasons": dict(results.skip_reasons),
        "failing": verdict.failing,
        "unexpected_failures": verdict.unexpected,
        "listed_but_passing": verdict.listed_passing,
        "listed_but_not_run": verdict.listed_not_run,
        "conforms": verdict.ok,
        "seconds": round(seconds, 1),
    }


# ------------------------------------------------------------------------- fetching the sdist


def cache_dir() -> Path:
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "corral" / "django-sdist"


def _find_sdist(directory: Path, version: str) -> Path | None:
    want = f"django-{version}.tar.gz"
    if not directory.is_dir():
        return None
    for path in sorted(directory.iterdir()):
        if path.name.lower() == want and path.is_file():
            return path
    return None


def fetch_sdist(version: str, cache: Path) -> Path:
    """The ``Django-<version>.tar.gz`` sdist from PyPI, downloaded once into ``cache``."""
    cached = _find_sdist(cache, version)
    if cached is not None:
        print(f"corral-conformance: using cached {cached}", flush=True)
        return cached
    cache.mkdir(parents=True, exist_ok=True)
    print(f"corral-conformance: downloading the Django {version} sdist into {cache}", flush=True)
    # Into a scratch directory first, then renamed: an interrupted download is never reused.
    with tempfile.TemporaryDirectory(dir=cache, prefix=".download-") as scratch:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            f"django=={version}",
            "--no-binary",
            ":all:",
            "--no-deps",
            "--disable-pip-version-check",
            "-d",
            scratch,
        ]
        done = subprocess.run(command, check=False)
        downloaded = _find_sdist(Path(scratch), version)
        if done.returncode != 0 or downloaded is None:
            raise HarnessError(
                f"could not download the Django {version} sdist (pip exited {done.returncode});"
                f" put django-{version}.tar.gz into {cache} by hand, or set {CACHE_ENV}"
            )
        target = cache / downloaded.name
        os.replace(downloaded, target)
    return target


def extract_tests(sdist: Path, destination: Path) -> Path:
    """Extract the sdist's ``tests/`` directory into ``destination``; return its path.

    Only ``tests/``: Django itself is the installed one, the one being tested.
    """
    try:
        with tarfile.open(sdist) as tar:
            members = [m for m in tar.getmembers() if m.name.split("/")[1:2] == ["tests"]]
            if not members:
                raise HarnessError(f"{sdist} has no tests/ directory")
            top = members[0].name.split("/")[0]
            if hasattr(tarfile, "data_filter"):
                tar.extractall(destination, members=members, filter="data")
            else:  # pragma: no cover - Python < 3.11.4
                tar.extractall(destination, members=members)
    except (OSError, tarfile.TarError) as error:
        raise HarnessError(
            f"could not extract {sdist}: {error}; delete it to re-download"
        ) from None
    tests = destination / top / "tests"
    if not (tests / "runtests.py").is_file():
        raise HarnessError(f"{sdist} has no tests/runtests.py")
    return tests


def install_swap(tests: Path) -> None:
    """Write the swap module and hook it into tests/sitecustomize.py (for subprocesses)."""
    (tests / f"{SWAP_MODULE}.py").write_text(SWAP_SOURCE, encoding="utf-8")
    sitecustomize = tests / "sitecustomize.py"
    existing = sitecustomize.read_text(encoding="utf-8") if sitecustomize.exists() else ""
    sitecustomize.write_text(existing + SITECUSTOMIZE_HOOK, encoding="utf-8")


# -------------------------------------------------------------------------------- running


def run_suite(
    tests: Path,
    labels: Sequence[str],
    *,
    stock: bool,
    quiet: bool,
    timeout: float,
) -> tuple[int, list[str]]:
    """Run runtests.py in a child interpreter; return its exit status and its output lines."""
    args = [
        "--settings=test_sqlite",
        "--parallel=1",
        "--verbosity=2",
        "--noinput",
        *labels,
    ]
    command = [sys.executable, "-c", BOOTSTRAP, str(tests), "stock" if stock else "corral", *args]
    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("FORCE_COLOR", None)
    env["NO_COLOR"] = "1"
    env["PYTHONUNBUFFERED"] = "1"  # stdout and stderr share one pipe: keep their order
    env["PYTHONIOENCODING"] = "utf-8"
    if stock:
        env.pop(SWAP_ENV, None)
    else:
        env[SWAP_ENV] = "1"
    lines: list[str] = []
    with subprocess.Popen(
        command,
        cwd=tests,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        encoding="utf-8",
        errors="replace",
        start_new_session=True,  # one process group: a timeout ends the tests' subprocesses too
    ) as child:
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            assert child.stdout is not None
            for line in child.stdout:
                lines.append(line)
                if not quiet:
                    sys.stdout.write(line)
                    sys.stdout.flush()
            status = child.wait()
        except KeyboardInterrupt:
            kill()
            raise
        finally:
            timer.cancel()
    if timed_out.is_set():
        raise HarnessError(f"the suite did not finish within {timeout:.0f} s and was killed")
    return status, lines


def _check_complete(results: TestResults, status: int, lines: Sequence[str]) -> None:
    tail = "".join(lines[-30:])
    if results.ran is None:
        raise HarnessError(
            f"runtests.py exited {status} without running the suite; its last output:\n{tail}"
        )
    counted = [t for t in results.outcomes if t.rsplit(".", 1)[-1] not in _FIXTURES]
    # Python 3.12.1's runner leaves skipped tests out of "Ran N tests" (3.12.2 undid that).
    unskipped = [t for t in counted if results.outcomes[t] != "skipped"]
    if results.ran not in (len(counted), len(unskipped)):
        raise HarnessError(
            f"runtests.py ran {results.ran} tests but {len(counted)} results could be parsed"
        )
    if status != 0 and not results.failed:
        raise HarnessError(
            f"runtests.py exited {status} but no test failed; its last output:\n{tail}"
        )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Run Django's staticfiles_tests against corral's drop-in classes.",
    )
    parser.add_argument(
        "labels",
        nargs="*",
        default=[DEFAULT_LABEL],
        help=f"test labels to run (default: {DEFAULT_LABEL}), e.g. staticfiles_tests.test_storage",
    )
    parser.add_argument(
        "--stock",
        action="store_true",
        help="run with Django's own classes: the baseline, which must pass everything",
    )
    parser.add_argument("--json", metavar="FILE", type=Path, help="write the results as JSON")
    parser.add_argument("--log", metavar="FILE", type=Path, help="write runtests.py's output")
    parser.add_argument(
        "--doc",
        metavar="FILE",
        type=Path,
        default=DEFAULT_DOC,
        help="the table of deliberate differences (default: docs/django-compat.md)",
    )
    parser.add_argument(
        "--quiet", "-q", action="store_true", help="don't echo runtests.py's output"
    )
    parser.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=float,
        default=1800.0,
        help="kill the suite after this long (default: 1800)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    options = _parser().parse_args(argv)
    labels: list[str] = options.labels
    started = time.monotonic()
    try:
        import django  # noqa: PLC0415 - only the run itself needs Django, not the tests

        version = django.__version__
        listed: dict[str, str] = {}
        if not options.stock:
            try:
                listed = parse_compat_doc(options.doc.read_text(encoding="utf-8"))
            except OSError as error:
                raise HarnessError(f"cannot read {options.doc}: {error}") from None
        sdist = fetch_sdist(version, cache_dir())
        with tempfile.TemporaryDirectory(prefix="corral-django-conformance-") as scratch:
            tests = extract_tests(sdist, Path(scratch))
            if not options.stock:
                install_swap(tests)
            status, lines = run_suite(
                tests, labels, stock=options.stock, quiet=options.quiet, timeout=options.timeout
            )
        if options.log:
            options.log.write_text("".join(lines), encoding="utf-8")
        results = parse_output(lines)
        _check_complete(results, status, lines)
    except HarnessError as error:
        print(f"corral-conformance: error: {error}", file=sys.stderr, flush=True)
        return 2
    seconds = time.monotonic() - started
    try:
        doc_name = str(options.doc.resolve().relative_to(REPO))
    except ValueError:
        doc_name = str(options.doc)
    code = report(
        results, listed, version=version, stock=options.stock, labels=labels, doc_name=doc_name
    )
    print(f"({seconds:.0f} s)", flush=True)
    if options.json:
        verdict = reconcile(results, {} if options.stock else listed, labels)
        data = results_json(
            results, verdict, version=version, stock=options.stock, labels=labels, seconds=seconds
        )
        options.json.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return code


if __name__ == "__main__":
    sys.exit(main())
