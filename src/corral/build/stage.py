"""The stage stage: read and digest every file the plan chose, and stage those to write."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, NamedTuple

from corral.build.plan import Inputs, Plan
from corral.digest import Digests, digest_file
from corral.errors import BuildError, Problem
from corral.guards import ChangedWhileCopied, ChangedWhileRead
from corral.loadpath import SourceFile
from corral.state import settled
from corral.targets.base import Staged

if TYPE_CHECKING:
    from corral.workers import WorkerPool

__all__ = ["Staging", "stage_files"]


class Staging(NamedTuple):
    """What :func:`stage_files` read and staged."""

    digests: dict[str, str]  # logical -> sha256 of every file of the release
    read: dict[str, Digests]  # the full digests of the files read this run
    staged: list[Staged]
    new: list[str]  # sorted, as the next three
    changed: list[str]
    repaired: list[str]
    unchanged: list[str]  # with the plan's
    refresh: bool  # the state must be rewritten (it lets the next run trust more files)
    bytes_written: int


def stage_files(inputs: Inputs, plan: Plan, pool: WorkerPool | None = None) -> Staging:
    """Read and digest the files :func:`~corral.build.plan.triage` chose; with a target,
    stage them (``pool``: worker processes that stage some of them)."""
    problems: list[Problem] = []
    digests, read = dict(plan.digests), {}
    staged_files: list[Staged] = []
    listed: dict[str, list[str]] = {"new": [], "changed": [], "repair": []}
    unchanged = list(plan.unchanged)
    refresh, written = False, 0
    progress, scanned_ns = inputs.progress, inputs.scanned_ns
    total = len(plan.to_read)
    done = 0
    for found, why, found_digests, staged, problem in examine_all(inputs, plan.to_read, pool):
        done += 1
        if progress is not None and (done % 200 == 0 or done == total):
            progress("stage", done, total)
        if problem is not None:
            problems.append(problem)
            continue
        assert found_digests is not None
        digests[found.logical] = found_digests.sha256
        read[found.logical] = found_digests
        if why == "unchanged":
            unchanged.append(found.logical)
            # Rewrite the state only if that lets the next run trust this file.
            refresh |= settled(found.ctime_ns, scanned_ns)
            continue
        listed[why].append(found.logical)
        if staged is not None:
            staged_files.append(staged)
            written += found.size
    if problems:
        raise BuildError(problems)
    for names in (*listed.values(), unchanged):
        names.sort()
    return Staging(
        digests,
        read,
        staged_files,
        listed["new"],
        listed["changed"],
        listed["repair"],
        unchanged,
        refresh,
        written,
    )


Examined = tuple[SourceFile, str, Digests | None, Staged | None, Problem | None]
#: Files at least this big are read, hashed and staged on threads (see examine_all).
THREAD_MIN_SIZE = 128 << 10


def examine_all(
    inputs: Inputs, to_read: list[tuple[SourceFile, str]], pool: WorkerPool | None = None
) -> Iterator[Examined]:
    """Read, digest and (with a target) stage files: big ones on threads, small ones here
    or, when a ``pool`` was handed them, in its worker processes.

    Reading, hashing and writing a big file release the GIL for long stretches, so a
    few threads hash big files in parallel. A small file is mostly Python and a few tiny
    system calls, each a GIL hand-over between threads: small files are examined in
    this thread meanwhile (threads made a copy of 5,271 mostly small files take 1.5
    times as long, with four times the system time), or by worker processes.
    """
    target = inputs.target
    examine = _examiner(inputs)

    def work(chunk: list[tuple[SourceFile, str]]) -> list[Examined]:
        return [examine(found, reason) for found, reason in chunk]

    handed = pool.staging if pool is not None else {}

    def from_workers() -> Iterator[Examined]:
        if not handed:
            return
        assert pool is not None and target is not None
        by_logical = {found.logical: found for found, _ in to_read if found.logical in handed}

        def canonical(logical: str) -> str:
            found = by_logical.get(logical)
            return logical if found is None else found.logical

        for logical, digests, identity in pool.staged(canonical):
            staged = Staged(logical, handed[logical], digests.sha256, identity)
            target.adopt(staged)
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


def _examiner(inputs: Inputs) -> Callable[[SourceFile, str], Examined]:
    """The function that decides what a file the state could not vouch for needs."""
    state, intact, target = inputs.state, inputs.intact, inputs.target
    config = inputs.config
    sri = config.integrity if config.hash else None
    link = config.link

    def examine(found: SourceFile, reason: str) -> Examined:
        try:
            digests, data = digest_file(found.path, sri=sri, size=found.size)
        except OSError as exc:
            return found, "problem", None, None, read_problem(exc, found)
        except ChangedWhileRead as exc:
            return found, "problem", None, None, exc.problem(found.logical)
        digest = digests.sha256
        why = "changed" if reason == "suspect" else reason
        old = state.sources.get(found.logical)
        if reason == "suspect" and old is not None and old.digest == digest:
            record = state.targets.get(found.logical)
            same_link = not link or old.path == found.path  # a link names its source file
            if (
                record is not None
                and record.digest == digest
                and found.logical in intact
                and same_link
            ):
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

    return examine


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
