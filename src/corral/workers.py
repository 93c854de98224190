"""Worker processes for the two CPU-bound jobs of a cold run: staging many small files,
and finding the references of many text files.

Both are mostly Python, and Python in one process runs on one core at a time. A
:class:`WorkerPool` forks worker processes as soon as the run knows which files it
must read, and hands them two kinds of tasks:

- **staging** (a first run into an empty root, see
  :meth:`~corral.targets.local.LocalTarget.direct_places`): a worker reads a file, computes
  its digests and writes it to the path in the staging tree that the main process
  claimed for it, and sends back the digests and the written file's identity. When
  the run fingerprints, it also scans the bytes it holds (below), so a text file is
  read and hashed once. Staging tasks go first: the main process waits for them.
- **scanning**: a worker reads a CSS, JS or source map file and sends back only what
  it found (:class:`~corral.fingerprint.scan.Found`: the links and missing
  references, plus the digest of the bytes it scanned), so the fingerprint engine
  neither tokenizes those files again nor, for files that name no collected file,
  reads them at all. A result counts only for exactly the bytes it was made from:
  the engine checks the digest against the bytes it staged.

Any failure costs the speed-up, never the result: a file a worker could not stage
(it removes what it wrote) or a task lost with its worker is done by the main
process, which then reports whatever is wrong with the file as it always does.
Workers are forked (see :func:`corral.fork.usable`); where that is not safe, there is
no pool.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator, Set
from typing import TYPE_CHECKING, Any, TypeVar

from corral.digest import Digests, digest_file
from corral.fork import die_with
from corral.guards import ChangedWhileRead, write_new

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

    from corral.fingerprint.model import Fingerprint
    from corral.fingerprint.options import FingerprintOptions
    from corral.fingerprint.scan import Found

__all__ = ["MIN_SCAN_BYTES", "MIN_STAGE_FILES", "WorkerPool"]

#: Below this many bytes to scan, starting processes costs more than it saves.
MIN_SCAN_BYTES = 8 << 20
#: Below this many files to stage, likewise.
MIN_STAGE_FILES = 1000
#: Bytes per scanning task (large enough to amortise the round trip).
_TASK_BYTES = 2 << 20
#: Files per staging task (or fewer, when they reach ``_TASK_BYTES``).
_STAGE_TASK_FILES = 200

_T = TypeVar("_T")

#: What a worker sends back for a staged file: logical path, sha256, md5, integrity,
#: the (inode, size, mtime) of the file it wrote, and, when the run fingerprints, what
#: scanning it found or, for a file that is not scanned, its fingerprint record.
_StagedFile = tuple[
    str, str, str | None, str | None, tuple[int, int, int], "Found | None", "Fingerprint | None"
]

# Set in each worker by _init (inherited without copying when processes fork).
_files: Set[str] = frozenset()
_options: FingerprintOptions | None = None


def _init(parent: int, files: Set[str], options: FingerprintOptions | None) -> None:
    global _files, _options  # per-process worker state
    _files, _options = files, options
    die_with(parent)


def _scan_task(task: list[tuple[str, str]]) -> list[tuple[str, Found]]:
    from corral.fingerprint.scan import find  # noqa: PLC0415 - loaded before the fork

    assert _options is not None, "a pool that scans has fingerprinting options"
    out: list[tuple[str, Found]] = []
    for logical, path in task:
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError:
            continue  # the main process reads it itself and reports the problem
        found = find(logical, data, _files, _options)
        if found is not None:
            out.append((logical, found))
    return out


def _stage_task(
    task: list[tuple[str, str, str, int]], sri: str | None, mode: int | None
) -> list[_StagedFile]:
    options = _options  # the run fingerprints: scan text files, name the others, here
    if options is not None:
        # Loaded before the fork.
        from corral.fingerprint import FileFacts  # noqa: PLC0415
        from corral.fingerprint.engine import plain_record  # noqa: PLC0415
        from corral.fingerprint.scan import find, scannable  # noqa: PLC0415
    out: list[_StagedFile] = []
    for logical, source, tmp, size in task:
        try:
            digests, data = digest_file(source, sri=sri, size=size)
            if data is None:
                continue  # too big to hold: left to the main process (it streams it)
            identity = write_new(tmp, data, mode)
        except (OSError, ChangedWhileRead):
            with contextlib.suppress(OSError):
                os.unlink(tmp)  # the main process stages it elsewhere, or reports why not
            continue
        found = record = None
        if options is None:
            pass
        elif scannable(logical):
            found = find(logical, data, _files, options, digest=digests.sha256)
        else:
            facts = FileFacts(logical, digests.sha256, size, digests.md5, digests.integrity)
            record = plain_record(facts, options)
        out.append(
            (logical, digests.sha256, digests.md5, digests.integrity, identity, found, record)
        )
    return out


class WorkerPool:
    """Worker processes, forked now; give them work with :meth:`stage` and :meth:`scan`.

    ``files`` are the run's logical paths and ``options`` its fingerprinting options
    (what a scan resolves references against; a pool that only stages needs none).
    """

    def __init__(
        self,
        files: Set[str],
        options: FingerprintOptions | None = None,
        *,
        workers: int | None = None,
    ) -> None:
        # Imported here: a run that starts no pool never loads multiprocessing.
        import multiprocessing  # noqa: PLC0415
        from concurrent.futures import ProcessPoolExecutor  # noqa: PLC0415

        self._scans: list[Future[list[tuple[str, Found]]]] = []
        self._stages: list[Future[list[_StagedFile]]] = []
        self._found: dict[str, Found] = {}  # what staging tasks found in the files they read
        #: The fingerprint records staging tasks made for the files they do not scan.
        self.made: dict[str, Fingerprint] = {}
        #: Logical path -> staging path of every file handed to the workers to stage.
        self.staging: dict[str, str] = {}
        self._pool: ProcessPoolExecutor | None = ProcessPoolExecutor(
            max_workers=workers or os.cpu_count() or 1,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_init,
            initargs=(os.getpid(), frozenset(files), options),
        )

    def stage(
        self, jobs: Iterable[tuple[str, str, str, int]], *, sri: str | None, mode: int | None
    ) -> None:
        """Stage ``jobs`` (logical path, source file, staging path, size) in the workers.

        A pool with fingerprinting options also scans the text files it stages, so
        they need no scanning task (see :meth:`results`). Files bigger than
        :data:`~corral.digest.WHOLE_READ_LIMIT` are left to the main process.

        ``jobs`` may be made lazily: each task goes to the workers as soon as it is
        complete (``_STAGE_TASK_FILES`` files or ``_TASK_BYTES`` bytes), so they start on
        the first files while the main process is still making the staging tree's
        directories for the others. If the pool breaks, the rest of ``jobs`` is not
        taken; what was not handed out the main process stages.
        """
        task: list[tuple[str, str, str, int]] = []
        size = 0
        for job in jobs:
            task.append(job)
            size += job[3]
            if len(task) == _STAGE_TASK_FILES or size >= _TASK_BYTES:
                if not self._hand_out_staging(task, sri, mode):
                    return
                task, size = [], 0
        if task:
            self._hand_out_staging(task, sri, mode)

    def _hand_out_staging(
        self, task: list[tuple[str, str, str, int]], sri: str | None, mode: int | None
    ) -> bool:
        future = self._submit(_stage_task, task, sri, mode)
        if future is None:
            return False
        self._stages.append(future)
        self.staging.update((logical, tmp) for logical, _, tmp, _ in task)
        return True

    def scan(self, jobs: list[tuple[str, str, int]]) -> None:
        """Find the references of ``jobs`` (logical path, file, size) in the workers
        (the pool must have been given fingerprinting options)."""
        # Largest first, so no big file is left for the end.
        for task in _tasks(sorted(jobs, key=lambda job: -job[2])):
            future = self._submit(_scan_task, task)
            if future is None:
                return
            self._scans.append(future)

    def _submit(self, fn: Callable[..., _T], *args: Any) -> Future[_T] | None:
        """Hand ``fn(*args)`` to a worker; None if the pool is closed or broke (then it
        is closed: the main process does the rest)."""
        from concurrent.futures.process import BrokenProcessPool  # noqa: PLC0415

        if self._pool is None:
            return None
        try:
            return self._pool.submit(fn, *args)
        except (OSError, BrokenProcessPool):
            self.close()
            return None

    def staged(
        self, canonical: Callable[[str], str] = str
    ) -> Iterator[tuple[str, Digests, tuple[int, int, int]]]:
        """Wait for the staging tasks: each file staged (logical path, its digests and
        its identity). A file handed out but not yielded was not staged.

        ``canonical`` gives, for a path a worker sent back, the equal string the run
        holds: the records keep that one, not a copy made by unpickling.
        """
        from concurrent.futures import CancelledError  # noqa: PLC0415
        from concurrent.futures.process import BrokenProcessPool  # noqa: PLC0415

        from corral.fingerprint.model import share_logical  # noqa: PLC0415

        futures, self._stages = self._stages, []
        for future in futures:
            try:
                done = future.result()
            except (OSError, BrokenProcessPool, CancelledError):
                continue  # a worker died: its files are staged by the main process
            for sent, sha256, md5, integrity, identity, found, record in done:
                logical = canonical(sent)
                if found is not None:
                    self._found[logical] = found
                if record is not None:
                    self.made[logical] = share_logical(record, logical)
                yield logical, Digests(sha256, md5, integrity), identity

    def results(self) -> dict[str, Found]:
        """Wait for the scanning tasks; return what they and the staging tasks (once
        :meth:`staged` went through them) found: possibly not everything."""
        from concurrent.futures import CancelledError  # noqa: PLC0415
        from concurrent.futures.process import BrokenProcessPool  # noqa: PLC0415

        found, self._found = self._found, {}
        try:
            for future in self._scans:
                try:
                    found.update(future.result())
                except (OSError, BrokenProcessPool, CancelledError):
                    continue  # that task's files are scanned in the main process
        finally:
            self.close()
        return found

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _tasks(jobs: list[tuple[str, str, int]]) -> list[list[tuple[str, str]]]:
    """Group jobs into tasks of about ``_TASK_BYTES`` each."""
    tasks: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    size = 0
    for logical, path, nbytes in jobs:
        current.append((logical, path))
        size += nbytes
        if size >= _TASK_BYTES:
            tasks.append(current)
            current, size = [], 0
    if current:
        tasks.append(current)
    return tasks
