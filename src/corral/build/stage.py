"""The stage stage: read, digest and stage every file the plan chose."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

from corral.build.clock import Clock
from corral.build.plan import Run
from corral.errors import BuildError, Problem
from corral.guards import ChangedWhileCopied
from corral.loadpath import SourceFile
from corral.publish import Digests, LocalTarget, Staged, digest_file
from corral.report import Progress, Report
from corral.state import State, settled

if TYPE_CHECKING:
    from corral.workers import WorkerPool

__all__ = ["stage_files"]


def stage_files(
    run: Run,
    to_read: list[tuple[SourceFile, str]],
    state: State,
    intact: set[str],
    report: Report,
    *,
    clock: Clock,
    progress: Progress | None,
    target: LocalTarget | None,
    scanned_ns: int,
    sri: str | None,
    link: bool = False,
    pool: WorkerPool | None = None,
) -> None:
    """Read and digest the files :func:`triage` chose; with a ``target``, stage them
    (``pool``: worker processes that stage some of them)."""
    problems: list[Problem] = []
    listed = {"new": report.new, "changed": report.changed, "repair": report.repaired}
    with clock("stage"):
        total = len(to_read)
        done = 0
        for found, why, digests, staged, problem in examine_all(
            to_read, state, intact, target, sri=sri, link=link, pool=pool
        ):
            done += 1
            if progress is not None and (done % 200 == 0 or done == total):
                progress("stage", done, total)
            if problem is not None:
                problems.append(problem)
                continue
            assert digests is not None
            run.digests[found.logical] = digests.sha256
            run.read_digests[found.logical] = digests
            if why == "unchanged":
                report.unchanged.append(found.logical)
                # Rewrite the state only if that lets the next run trust this file.
                run.refresh |= settled(found.ctime_ns, scanned_ns)
                continue
            listed[why].append(found.logical)
            if staged is not None:
                run.staged.append(staged)
                report.bytes_written += found.size
    if problems:
        raise BuildError(problems)
    for names in (report.new, report.changed, report.repaired, report.unchanged):
        names.sort()


Examined = tuple[SourceFile, str, Digests | None, Staged | None, Problem | None]
#: Files at least this big are read, hashed and staged on threads (see examine_all).
THREAD_MIN_SIZE = 128 << 10


def examine_all(
    to_read: list[tuple[SourceFile, str]],
    state: State,
    intact: set[str],
    target: LocalTarget | None,
    *,
    sri: str | None,
    link: bool,
    pool: WorkerPool | None = None,
) -> Iterator[Examined]:
    """Read, digest and (if ``stage``) stage files: big ones on threads, small ones here
    or, when a ``pool`` was handed them, in its worker processes.

    Reading, hashing and writing a big file release the GIL for long stretches, so a
    few threads hash big files in parallel. A small file is mostly Python and a few tiny
    system calls, each a GIL hand-over between threads: small files are examined in
    this thread meanwhile (threads made a copy of 5,271 mostly small files take 1.5
    times as long, with four times the system time), or by worker processes.
    """

    def work(chunk: list[tuple[SourceFile, str]]) -> list[Examined]:
        return [
            examine(found, reason, state, intact, target, sri=sri, link=link)
            for found, reason in chunk
        ]

    handed = pool.staging if pool is not None else {}

    def from_workers() -> Iterator[Examined]:
        if not handed:
            return
        assert pool is not None and target is not None
        by_logical = {found.logical: found for found, _ in to_read if found.logical in handed}
        for logical, digests, identity in pool.staged():
            staged = Staged(logical, handed[logical], digests.sha256, identity)
            target.register(staged)
            yield by_logical.pop(logical), "new", digests, staged, None
        # Whatever a worker could not stage, this process stages (or reports) itself.
        yield from work([(found, "new") for found in by_logical.values()])

    local = [item for item in to_read if item[0].logical not in handed]
    big = [item for item in local if item[0].size >= THREAD_MIN_SIZE]
    if len(big) < 2:
        yield from work(local)
        yield from from_workers()
        return
    small = [item for item in local if item[0].size < THREAD_MIN_SIZE]
    # Imported here: concurrent.futures pulls in logging, which a no-change run never needs.
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    big.sort(key=lambda item: -item[0].size)  # largest first: no big file left for last
    workers = min(4, os.cpu_count() or 1)
    threads = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="corral-stage")
    try:
        futures = [threads.submit(work, [item]) for item in big]
        yield from work(small)
        yield from from_workers()
        for future in futures:
            yield from future.result()
    finally:
        threads.shutdown(wait=True, cancel_futures=True)


def examine(
    found: SourceFile,
    reason: str,
    state: State,
    intact: set[str],
    target: LocalTarget | None,
    *,
    sri: str | None,
    link: bool,
) -> Examined:
    """Decide what a file that could not be trusted by its identity needs."""
    try:
        digests, data = digest_file(found.path, sri=sri, size=found.size)
    except OSError as exc:
        return found, "problem", None, None, read_problem(exc, found)
    digest = digests.sha256
    why = "changed" if reason == "suspect" else reason
    old = state.sources.get(found.logical)
    if reason == "suspect" and old is not None and old.digest == digest:
        record = state.targets.get(found.logical)
        same_link = not link or old.path == found.path  # a link names its source file
        if record is not None and record.digest == digest and found.logical in intact and same_link:
            return found, "unchanged", digests, None, None
        why = "repair"
    if target is None:
        staged = None
    elif link:
        staged = target.stage_symlink(found.logical, found.path, digest)
    else:
        try:
            staged = target.stage(found.logical, found.path, digest, data)
        except ChangedWhileCopied as exc:
            return found, "problem", None, None, exc.problem()
    return found, why, digests, staged, None


def read_problem(exc: OSError, found: SourceFile) -> Problem:
    if isinstance(exc, PermissionError):
        return Problem(
            "unreadable",
            "permission denied reading this file",
            path=found.path,
            logical_path=found.logical,
            hint="make it readable by the user running corral, or add an ignore pattern",
        )
    if isinstance(exc, FileNotFoundError):
        return Problem(
            "vanished",
            "the file disappeared while corral was running",
            path=found.path,
            logical_path=found.logical,
            hint="run again once whatever is changing the sources has finished",
        )
    return Problem(
        "unreadable",
        f"can't read this file: {exc.strerror or exc}",
        path=found.path,
        logical_path=found.logical,
        hint="fix the file or add an ignore pattern for it",
    )
