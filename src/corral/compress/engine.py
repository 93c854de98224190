"""Compress many files in parallel, each unique content once, through the cache.

:func:`compress_many` takes jobs (content digest, path, size), looks every
(content, encoding) up in the :class:`~corral.compress.cache.CompressionCache`,
compresses only the misses on a pool of ``workers`` threads, and returns one
:class:`JobResult` per job, in job order. The unit of parallel work is one
(content, encoding): the biggest, slowest ones start first, at most ``workers``
files are open at a time, and each is streamed in 1 MiB chunks (see
:mod:`.worker`), so memory does not grow with file size beyond the encoders' own
windows. Lookups verify cached entries on the same number of threads.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from pathlib import Path

from corral.compress.cache import CachedVariant, CompressionCache, NoGain, check_digest
from corral.compress.cpus import available_cpus
from corral.compress.encoders import require
from corral.compress.memory import MEMORY_BUDGET, memory_of
from corral.compress.policy import CompressionOptions, Encoding
from corral.compress.probe import incompressible
from corral.compress.results import (
    CompressionResults,
    CompressJob,
    JobInput,
    JobResult,
    ProgressCallback,
    Skip,
    Variant,
)
from corral.compress.worker import Outcome, Task, run_task
from corral.errors import BuildError, ConfigError, Problem, TargetError

__all__ = ["compress_many"]

#: How far down the queue a worker looks for a task that fits the memory left.
_LOOKAHEAD = 4096

# CPU milliseconds per MB of input, single-threaded, measured on the medium benchmark
# corpus's CSS/JS/SVG/fonts/JSON/HTML (benchmarks/compression_levels.py; levels not
# measured take their neighbour's). Used only to start the slowest work first, so a
# run does not end with one core working on one big file while the others wait.
_BROTLI_MS = (10, 10, 10, 10, 10, 30, 32, 42, 51, 100, 680, 1560)
_GZIP_MS = (0, 25, 25, 25, 25, 25, 32, 40, 45, 51)
_ZSTD_MS = (0, 9, 9, 9, 23, 23, 23, 23, 23, 23, 160, 160, 160, 160, 160, 160, 222, 239, 306,
            430, 500, 500, 500)  # fmt: skip


def _cost(task: Task) -> int:
    """Estimated CPU time of a task (arbitrary units), to order the work."""
    table = {"br": _BROTLI_MS, "gzip": _GZIP_MS, "zstd": _ZSTD_MS}[task.encoding]
    return task.size * table[min(task.level, len(table) - 1)]


def compress_many(
    jobs: Iterable[JobInput],
    options: CompressionOptions,
    cache: CompressionCache,
    *,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
    verify: bool = True,
    on_variant: Callable[[str, Variant], None] | None = None,
) -> CompressionResults:
    """Given jobs, return every job's variants, compressing each missing one once.

    ``workers`` defaults to the number of usable CPUs (affinity and cgroup CPU quota,
    see :mod:`.cpus`). Raises
    :class:`~corral.errors.ConfigError` for a bad ``workers`` or a missing encoder
    library, :class:`~corral.errors.TargetError` if the cache can't be written (no
    entry is left half-written), and :class:`~corral.errors.BuildError` listing every
    file that could not be read or changed while being compressed, after the other
    files are done (their variants are cached for the next run). ``ValueError`` for
    a malformed job (not a sha256 hex digest, negative size). ``verify=False``: cached
    entries are not re-read here, because the caller checks their bytes as it copies
    them (see :meth:`CompressionCache.lookup_all`). ``on_variant(digest, variant)`` is
    called (on the calling thread) for each kept variant as soon as it is known: from the
    cache before anything is compressed, then as each one is stored.
    """
    job_list = tuple(_as_job(job) for job in jobs)
    enabled = options.encodings()
    for encoding, _level in enabled:
        require(encoding)
    workers = _worker_count(workers)

    reasons = [options.skip_reason(job.name or job.path, job.size) for job in job_list]
    wanted: dict[str, tuple[CompressJob, tuple[tuple[Encoding, int], ...]]] = {}
    for job, reason in zip(job_list, reasons, strict=True):
        if reason is None and job.digest not in wanted:
            encodings = options.encodings_for(job.name or job.path, job.size)
            for encoding, _level in encodings:
                require(encoding)  # a rule may turn on an encoding the defaults leave off
            if encodings:
                wanted[job.digest] = (job, encodings)

    found: dict[tuple[str, Encoding], Variant | Skip] = {}
    tasks: list[Task] = []
    hits = discarded = 0
    root = str(cache.root)
    for (digest, (job, encodings)), (entries, bad) in zip(
        wanted.items(), _lookups(cache, list(wanted.items()), workers, verify), strict=True
    ):
        discarded += bad
        missing: list[tuple[Encoding, int]] = []
        for (encoding, level), entry in zip(encodings, entries, strict=True):
            answer = _from_cache(entry, job.size, encoding, level, options)
            if answer is None:
                missing.append((encoding, level))
            else:
                hits += 1
                found[digest, encoding] = answer
                if on_variant is not None and isinstance(answer, Variant):
                    on_variant(digest, answer)
        if missing and incompressible(job.path, job.size):
            for encoding, _level in missing:  # not worth an encoder's time (see .probe)
                found[digest, encoding] = Skip(encoding, "incompressible")
            continue
        for encoding, level in missing:
            tasks.append(Task(root, digest, str(job.path), job.size, encoding, level))

    if tasks:
        try:
            cache.prepare()
        except OSError as exc:
            raise _cache_error(cache, exc) from exc
        tasks.sort(key=lambda t: (-_cost(t), t.digest, t.encoding))
    _Runner(
        tasks=tasks,
        options=options,
        cache=cache,
        workers=workers,
        total=len(wanted),
        progress=progress,
        found=found,
        on_variant=on_variant,
    ).run()

    results = []
    for job, reason in zip(job_list, reasons, strict=True):
        if reason is not None:
            results.append(JobResult(job, (), tuple(Skip(e, reason) for e, _ in enabled)))
            continue
        encodings = wanted[job.digest][1] if job.digest in wanted else ()
        chosen = {encoding for encoding, _level in encodings}
        answers = [found[job.digest, encoding] for encoding, _level in encodings]
        answers += [Skip(e, "rule") for e, _ in enabled if e not in chosen]
        variants = tuple(a for a in answers if isinstance(a, Variant))
        skips = tuple(a for a in answers if isinstance(a, Skip))
        results.append(JobResult(job, variants, skips))
    return CompressionResults(tuple(results), len(tasks), hits, discarded)


def _as_job(job: JobInput) -> CompressJob:
    digest, path, size, *rest = job
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ValueError(f"job size must be a whole number of bytes; found {size!r} for {path}")
    check_digest(digest)
    return CompressJob(digest, Path(path), size, str(rest[0]) if rest else "")


def _lookups(
    cache: CompressionCache,
    wanted: list[tuple[str, tuple[CompressJob, tuple[tuple[Encoding, int], ...]]]],
    workers: int,
    verify: bool,
) -> list[tuple[list[CachedVariant | NoGain | None], int]]:
    """Look every content up, on ``workers`` threads (verifying entries is I/O and hashing)."""

    def one(
        item: tuple[str, tuple[CompressJob, tuple[tuple[Encoding, int], ...]]],
    ) -> tuple[list[CachedVariant | NoGain | None], int]:
        digest, (_job, encodings) = item
        return cache.lookup_all(digest, encodings, verify=verify)

    try:
        if workers == 1 or len(wanted) < 64:
            return [one(item) for item in wanted]
        # A few batches per thread: a future per content cost more than most lookups.
        step = max(1, len(wanted) // (workers * 8))
        batches = [wanted[start : start + step] for start in range(0, len(wanted), step)]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="corral-lookup") as pool:
            done = pool.map(lambda batch: [one(item) for item in batch], batches)
            return [answer for answers in done for answer in answers]
    except OSError as exc:
        raise _cache_error(cache, exc, "read") from exc


def _worker_count(workers: int | None) -> int:
    if workers is None:
        return available_cpus()
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


def _cache_error(cache: CompressionCache, exc: OSError, verb: str = "write") -> TargetError:
    return TargetError(
        f"could not {verb} the compression cache in {cache.root}: {exc.strerror or exc}",
        path=str(cache.root),
        hint="check the target's free space and permissions; the cache can be deleted "
        "safely, it is rebuilt on the next run",
    )


class _Runner:
    """Runs tasks with at most ``workers`` in flight; fills ``found``, raises at the end."""

    def __init__(
        self,
        *,
        tasks: list[Task],
        options: CompressionOptions,
        cache: CompressionCache,
        workers: int,
        total: int,
        progress: ProgressCallback | None,
        found: dict[tuple[str, Encoding], Variant | Skip],
        on_variant: Callable[[str, Variant], None] | None = None,
    ) -> None:
        self.tasks, self.options, self.cache, self.found = tasks, options, cache, found
        self.on_variant = on_variant
        self.workers = min(workers, len(tasks)) or 1
        self.budget = MEMORY_BUDGET
        self.left = Counter(task.digest for task in tasks)
        self.total, self.done, self.progress = total, total - len(self.left), progress
        self.problems: dict[str, Problem] = {}
        self.cache_failure: OSError | None = None

    def run(self) -> None:
        if self.progress is not None:
            self.progress(self.done, self.total)
        if not self.tasks:
            return
        queue = list(reversed(self.tasks))  # the next task (the costliest left) is last
        running: dict[Future[Outcome], int] = {}  # each task's estimated memory
        with _executor(self.workers) as pool:
            while True:
                while self.cache_failure is None and len(running) < self.workers:
                    task = self._next(queue, self.budget - sum(running.values()), bool(running))
                    if task is None:
                        break
                    if task.source in self.problems:  # already failed for another encoding
                        self._finished(task)
                        continue
                    future = pool.submit(run_task, task, self.options.max_ratio)
                    running[future] = memory_of(task.encoding, task.level, task.size)
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    del running[future]
                    self._record(future.result())
        if self.cache_failure is not None:
            raise _cache_error(self.cache, self.cache_failure)
        if self.problems:
            raise BuildError(list(self.problems.values()))

    @staticmethod
    def _next(queue: list[Task], room: int, busy: bool) -> Task | None:
        """Take the costliest task left whose encoder fits in ``room`` (any task when
        nothing is running); None when none fits now."""
        if not queue:
            return None
        if not busy or memory_of(queue[-1].encoding, queue[-1].level, queue[-1].size) <= room:
            return queue.pop()
        for index in range(len(queue) - 2, max(-1, len(queue) - 2 - _LOOKAHEAD), -1):
            task = queue[index]
            if memory_of(task.encoding, task.level, task.size) <= room:
                return queue.pop(index)
        return None

    def _record(self, outcome: Outcome) -> None:
        task = outcome.task
        if outcome.kind == "stored":
            variant = Variant(
                task.encoding, task.level, outcome.size, outcome.integrity, Path(outcome.path), True
            )
            self.found[task.digest, task.encoding] = variant
            if self.on_variant is not None:
                self.on_variant(task.digest, variant)
        elif outcome.kind == "nogain":
            self.found[task.digest, task.encoding] = Skip(task.encoding, "no-gain", outcome.size)
        elif outcome.kind == "cache":
            self.cache_failure = self.cache_failure or OSError(outcome.message)
        else:
            self.problems.setdefault(task.source, _problem(outcome))
        self._finished(task)

    def _finished(self, task: Task) -> None:
        self.left[task.digest] -= 1
        if self.left[task.digest] == 0:
            self.done += 1
            if self.progress is not None:
                self.progress(self.done, self.total)


def _executor(workers: int) -> Executor:
    # Threads, not processes: zlib, brotli and zstandard release the GIL while
    # compressing, and threads start instantly (see the package docstring).
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="corral-compress")


def _problem(outcome: Outcome) -> Problem:
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
