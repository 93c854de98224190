"""Compress many files in parallel, each unique content once, through the cache.

:func:`compress_many` takes jobs (content digest, path, size), looks every
(content, encoding) up in the :class:`~corral.compress.cache.CompressionCache`,
compresses only the misses on a pool of ``workers`` threads, and returns one
:class:`JobResult` per job, in job order. The unit of parallel work is one
(content, encoding): the biggest, slowest ones start first, at most ``workers``
files are open at a time, and each is streamed in 1 MiB chunks, so memory does not
grow with file size (beyond the encoder's own window).

Every worker re-hashes what it reads and refuses to store bytes whose sha256 or
size differ from the job's: the cache is keyed by that digest, so a file edited
during the build must not poison it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import BinaryIO, Literal, NamedTuple

from corral.compress.cache import (
    CachedVariant,
    CompressionCache,
    NoGain,
    check_digest,
    integrity_of,
)
from corral.compress.encoders import new_encoder, require
from corral.compress.policy import CompressionOptions, Encoding, SkipReason
from corral.errors import BuildError, ConfigError, Problem, TargetError

__all__ = ["CompressJob", "CompressionResults", "JobResult", "Skip", "Variant", "compress_many"]

#: ``progress(done, total)``: unique contents finished (cache hits count at once)
#: out of the unique contents to compress.
ProgressCallback = Callable[[int, int], None]

_CHUNK = 1 << 20
# Relative cost per input byte at the default levels, measured on the npm corpus
# (brotli 11 ~1.2 s/MB, zstd 19 ~0.35 s/MB, gzip 9 ~0.05 s/MB): used only to start
# the slowest work first, so the run does not end waiting on one big file.
_COST: dict[Encoding, int] = {"br": 24, "zstd": 7, "gzip": 1}


class CompressJob(NamedTuple):
    """One file to compress: sha256 hex of its bytes, where it is, its size."""

    digest: str
    path: Path
    size: int


@dataclass(frozen=True, slots=True)
class Variant:
    """A kept variant: ``size`` encoded bytes at ``path`` (in the cache).

    ``integrity`` is the SRI string of the encoded bytes (``sha384-<base64>``).
    ``computed`` is True if this call compressed it, False if it came from the cache.
    """

    encoding: Encoding
    level: int
    size: int
    integrity: str
    path: Path
    computed: bool


@dataclass(frozen=True, slots=True)
class Skip:
    """No variant in ``encoding``, because of ``reason``.

    For ``"no-gain"``, ``size`` is the encoded size that failed the ratio gate.
    """

    encoding: Encoding
    reason: SkipReason
    size: int | None = None


@dataclass(frozen=True, slots=True)
class JobResult:
    """For one job: its kept variants and its skipped encodings (enabled ones only)."""

    job: CompressJob
    variants: tuple[Variant, ...]
    skips: tuple[Skip, ...]


@dataclass(frozen=True, slots=True)
class CompressionResults:
    """What :func:`compress_many` did: one result per job, in job order, and counters.

    ``computed`` counts the (content, encoding) pairs compressed by this call (kept
    or not); ``cache_hits`` those answered by the cache, including recorded
    "no gain" results; ``discarded`` the bad cache entries found, deleted and
    recomputed. A second run over unchanged contents has ``computed == 0``.
    """

    results: tuple[JobResult, ...]
    computed: int
    cache_hits: int
    discarded: int

    def __iter__(self) -> Iterator[JobResult]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)


def compress_many(
    jobs: Iterable[CompressJob | tuple[str, str | os.PathLike[str], int]],
    options: CompressionOptions,
    cache: CompressionCache,
    *,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
) -> CompressionResults:
    """Given jobs, return every job's variants, compressing each missing one once.

    ``workers`` defaults to the number of usable CPUs. Raises
    :class:`~corral.errors.ConfigError` for a bad ``workers`` or a missing encoder
    library, :class:`~corral.errors.TargetError` if the cache can't be written (no
    entry is left half-written), and :class:`~corral.errors.BuildError` listing every
    file that could not be read or changed while being compressed, after the other
    files are done (their variants are cached for the next run). ``ValueError`` for
    a malformed job (not a sha256 hex digest, negative size).
    """
    job_list = tuple(_as_job(job) for job in jobs)
    encodings = options.encodings()
    for encoding, _level in encodings:
        require(encoding)
    workers = _worker_count(workers)

    reasons = [options.skip_reason(job.path, job.size) for job in job_list]
    wanted: dict[str, CompressJob] = {}
    for job, reason in zip(job_list, reasons, strict=True):
        if reason is None and encodings:
            wanted.setdefault(job.digest, job)

    found: dict[tuple[str, Encoding], Variant | Skip] = {}
    tasks: list[_Task] = []
    hits = discarded = 0
    for digest, job in wanted.items():
        for encoding, level in encodings:
            entry, bad = cache.lookup_counting(digest, encoding, level)
            discarded += bad
            answer = _from_cache(entry, job.size, encoding, level, options)
            if answer is None:
                tasks.append(
                    _Task(str(cache.root), digest, str(job.path), job.size, encoding, level)
                )
            else:
                hits += 1
                found[digest, encoding] = answer

    if tasks:
        try:
            cache.prepare()
        except OSError as exc:
            raise _cache_error(cache, exc) from exc
        tasks.sort(key=lambda t: (-t.size * _COST[t.encoding], t.digest, t.encoding))
    _Runner(
        tasks=tasks,
        options=options,
        cache=cache,
        workers=workers,
        total=len(wanted),
        progress=progress,
        found=found,
    ).run()

    results = []
    for job, reason in zip(job_list, reasons, strict=True):
        if reason is not None:
            results.append(JobResult(job, (), tuple(Skip(e, reason) for e, _ in encodings)))
            continue
        answers = [found[job.digest, encoding] for encoding, _level in encodings]
        variants = tuple(a for a in answers if isinstance(a, Variant))
        skips = tuple(a for a in answers if isinstance(a, Skip))
        results.append(JobResult(job, variants, skips))
    return CompressionResults(tuple(results), len(tasks), hits, discarded)


def _as_job(job: CompressJob | tuple[str, str | os.PathLike[str], int]) -> CompressJob:
    digest, path, size = job
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ValueError(f"job size must be a whole number of bytes; found {size!r} for {path}")
    check_digest(digest)
    return CompressJob(digest, Path(path), size)


def _worker_count(workers: int | None) -> int:
    if workers is None:
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # not on Linux
            return max(1, os.cpu_count() or 1)
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ConfigError(f"'workers' must be a whole number, 1 or more; found {workers!r}")
    return workers


def _from_cache(
    entry: CachedVariant | NoGain | None,
    size: int,
    encoding: Encoding,
    level: int,
    options: CompressionOptions,
) -> Variant | Skip | None:
    """Answer from a cache entry under the current ratio gate, or None to compute."""
    if isinstance(entry, CachedVariant):
        if options.worth_keeping(size, entry.size):
            return Variant(encoding, level, entry.size, entry.integrity, entry.path, False)
        return Skip(encoding, "no-gain", entry.size)
    if isinstance(entry, NoGain) and not options.worth_keeping(size, entry.size):
        return Skip(encoding, "no-gain", entry.size)
    return None


def _cache_error(cache: CompressionCache, exc: OSError) -> TargetError:
    return TargetError(
        f"could not write the compression cache in {cache.root}: {exc.strerror or exc}",
        path=str(cache.root),
        hint="check the target's free space and permissions; the cache can be deleted "
        "safely, it is rebuilt on the next run",
    )


@dataclass(frozen=True, slots=True)
class _Task:
    cache_root: str
    digest: str
    source: str
    size: int
    encoding: Encoding
    level: int


_Kind = Literal["stored", "nogain", "unreadable", "changed", "cache", "encoder"]


@dataclass(frozen=True, slots=True)
class _Outcome:
    task: _Task
    kind: _Kind
    size: int = 0
    integrity: str = ""
    path: str = ""
    message: str = ""


class _Runner:
    """Runs tasks with at most ``workers`` in flight; fills ``found``, raises at the end."""

    def __init__(
        self,
        *,
        tasks: list[_Task],
        options: CompressionOptions,
        cache: CompressionCache,
        workers: int,
        total: int,
        progress: ProgressCallback | None,
        found: dict[tuple[str, Encoding], Variant | Skip],
    ) -> None:
        self.tasks, self.options, self.cache, self.found = tasks, options, cache, found
        self.workers = min(workers, len(tasks)) or 1
        self.left = Counter(task.digest for task in tasks)
        self.total, self.done, self.progress = total, total - len(self.left), progress
        self.problems: dict[str, Problem] = {}
        self.cache_failure: OSError | None = None

    def run(self) -> None:
        if self.progress is not None:
            self.progress(self.done, self.total)
        if not self.tasks:
            return
        queue = iter(self.tasks)
        running: set[Future[_Outcome]] = set()
        with _executor(self.workers) as pool:
            while True:
                while self.cache_failure is None and len(running) < self.workers:
                    task = next(queue, None)
                    if task is None:
                        break
                    if task.source in self.problems:  # already failed for another encoding
                        self._finished(task)
                        continue
                    running.add(pool.submit(_run_task, task, self.options.max_ratio))
                if not running:
                    break
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    self._record(future.result())
        if self.cache_failure is not None:
            raise _cache_error(self.cache, self.cache_failure)
        if self.problems:
            raise BuildError(list(self.problems.values()))

    def _record(self, outcome: _Outcome) -> None:
        task = outcome.task
        if outcome.kind == "stored":
            self.found[task.digest, task.encoding] = Variant(
                task.encoding, task.level, outcome.size, outcome.integrity, Path(outcome.path), True
            )
        elif outcome.kind == "nogain":
            self.found[task.digest, task.encoding] = Skip(task.encoding, "no-gain", outcome.size)
        elif outcome.kind == "cache":
            self.cache_failure = self.cache_failure or OSError(outcome.message)
        else:
            self.problems.setdefault(task.source, _problem(outcome))
        self._finished(task)

    def _finished(self, task: _Task) -> None:
        self.left[task.digest] -= 1
        if self.left[task.digest] == 0:
            self.done += 1
            if self.progress is not None:
                self.progress(self.done, self.total)


def _executor(workers: int) -> Executor:
    # Threads, not processes: zlib, brotli and zstandard release the GIL while
    # compressing, and threads start instantly (see the package docstring).
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="corral-compress")


def _problem(outcome: _Outcome) -> Problem:
    path = outcome.task.source
    if outcome.kind == "unreadable":
        return Problem(
            "unreadable",
            f"could not read the file to compress it: {outcome.message}",
            path=path,
            hint="check that the file still exists and is readable, then run again",
        )
    if outcome.kind == "changed":
        return Problem(
            "changed-during-build",
            f"the file changed while it was being compressed ({outcome.message})",
            path=path,
            hint="run again when nothing is writing to the source files",
        )
    return Problem(
        "compress-failed",
        f"{outcome.task.encoding} compression failed: {outcome.message}",
        path=path,
        hint="turn this encoding off, or report the error with the file attached",
    )


class _Failure(Exception):
    def __init__(self, kind: _Kind, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _run_task(task: _Task, max_ratio: float) -> _Outcome:
    """Compress one (content, encoding) into the cache; never leaves a visible partial entry."""
    cache = CompressionCache(task.cache_root)
    directory = cache.content_dir(task.digest)
    temp: Path | None = None
    try:
        try:
            source = open(task.source, "rb")  # noqa: SIM115 (closed by the with below)
        except OSError as exc:
            raise _Failure("unreadable", _reason(exc)) from exc
        with source:
            try:
                directory.mkdir(parents=True, exist_ok=True)
                temp = cache.new_temp(directory)
                sink = os.open(temp, os.O_WRONLY)
            except OSError as exc:
                raise _Failure("cache", _reason(exc)) from exc
            try:
                size, sha384 = _stream(source, sink, task)
            finally:
                os.close(sink)
        if size <= task.size * max_ratio:
            final = cache.variant_path(task.digest, task.encoding, task.level, sha384)
            _rename(temp, final)
            temp = None
            return _Outcome(task, "stored", size, integrity_of(sha384), str(final))
        _rename(temp, cache.nogain_path(task.digest, task.encoding, task.level, size), empty=True)
        temp = None
        return _Outcome(task, "nogain", size)
    except _Failure as failure:
        return _Outcome(task, failure.kind, message=str(failure))
    finally:
        if temp is not None:
            with contextlib.suppress(OSError):
                temp.unlink()


def _stream(source: BinaryIO, sink: int, task: _Task) -> tuple[int, bytes]:
    """Encode ``source`` into the file descriptor ``sink``; return the size and sha384."""
    original, encoded = hashlib.sha256(), hashlib.sha384()
    total = 0
    size = 0

    def emit(produce: Callable[[], bytes]) -> None:
        nonlocal size
        try:
            out = produce()
        except Exception as exc:  # an encoder failure, reported with the file's name
            raise _Failure("encoder", repr(exc)) from exc
        encoded.update(out)
        size += len(out)
        view = memoryview(out)
        try:
            while view:
                view = view[os.write(sink, view) :]
        except OSError as exc:
            raise _Failure("cache", _reason(exc)) from exc

    try:
        encoder = new_encoder(task.encoding, task.level, task.size)
    except Exception as exc:
        raise _Failure("encoder", repr(exc)) from exc
    while True:
        try:
            chunk = source.read(_CHUNK)
        except OSError as exc:
            raise _Failure("unreadable", _reason(exc)) from exc
        if not chunk:
            break
        total += len(chunk)
        if total > task.size:
            raise _Failure("changed", f"it has grown past the {task.size} bytes measured")
        original.update(chunk)
        emit(partial(encoder.compress, chunk))
    if total < task.size:
        raise _Failure("changed", f"it is {total} bytes now; {task.size} were measured")
    if original.hexdigest() != task.digest:
        raise _Failure("changed", "its content no longer matches the digest taken earlier")
    emit(encoder.finish)
    return size, encoded.digest()


def _rename(temp: Path, final: Path, *, empty: bool = False) -> None:
    try:
        if empty:
            os.truncate(temp, 0)
        os.replace(temp, final)
    except OSError as exc:
        raise _Failure("cache", _reason(exc)) from exc


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)
