"""Find the references of many text files in worker processes while the main process stages.

The CSS and JavaScript tokenizers are pure Python: in the main process they hold
the GIL, so a cold run would tokenize on one core while the staging threads
(reading, hashing, writing: GIL-free work) wait their turn. A :class:`ScanPool`
instead hands the CSS, JS and source map files that will need scanning to worker
processes as soon as the sources are scanned. They read the files themselves and
send back only what they found (:class:`~corral.fingerprint.scan.Found`: the
links and missing references, plus the digest of the bytes they scanned), so the
fingerprint engine neither tokenizes those files again nor, for files that name
no collected file, reads them at all.

A result counts only for exactly the bytes it was made from: the engine checks
the digest against the bytes it staged, and a file that changed in between is
simply scanned again in the main process. Any failure of the pool (a worker
killed, no way to start processes) costs the speed-up, never the result. Workers are
forked (see :func:`usable`); where that is not safe, there is no pool.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Set
from typing import TYPE_CHECKING

from corral.fingerprint.options import FingerprintOptions
from corral.fingerprint.scan import Found, find

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

__all__ = ["MIN_BYTES", "ScanPool", "usable"]

#: Below this many bytes to scan, starting processes costs more than it saves.
MIN_BYTES = 8 << 20
#: Bytes per task handed to a worker (large enough to amortise the round trip).
_TASK_BYTES = 2 << 20

# Set in each worker by _init (inherited without copying when processes fork).
_files: Set[str] = frozenset()
_options = FingerprintOptions()


def _init(files: Set[str], options: FingerprintOptions) -> None:
    global _files, _options  # per-process worker state
    _files, _options = files, options


def _scan_task(task: list[tuple[str, str]]) -> list[tuple[str, Found]]:
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


def usable() -> bool:
    """Whether worker processes can be started safely here: by ``fork`` on Linux, while
    this is the process's only thread.

    Forking re-imports nothing (spawning would re-run a host program's ``__main__``),
    but a lock another thread holds would stay held in the child, and macOS frameworks
    are not fork-safe; elsewhere the files are scanned in the main process.
    """
    return sys.platform.startswith("linux") and threading.active_count() == 1


class ScanPool:
    """Scan ``jobs`` (logical path, file path, size) in worker processes, starting now."""

    def __init__(
        self,
        jobs: list[tuple[str, str, int]],
        files: Set[str],
        options: FingerprintOptions,
        *,
        workers: int | None = None,
    ) -> None:
        # Imported here: a run that starts no pool never loads multiprocessing.
        import multiprocessing  # noqa: PLC0415
        from concurrent.futures import ProcessPoolExecutor  # noqa: PLC0415
        from concurrent.futures.process import BrokenProcessPool  # noqa: PLC0415

        self._futures: list[Future[list[tuple[str, Found]]]] = []
        self._pool: ProcessPoolExecutor | None = None
        count = workers or os.cpu_count() or 1
        context = multiprocessing.get_context("fork")
        try:
            self._pool = ProcessPoolExecutor(
                max_workers=count,
                mp_context=context,
                initializer=_init,
                initargs=(frozenset(files), options),
            )
            # Largest first, so no big file is left for the end.
            for task in _tasks(sorted(jobs, key=lambda job: -job[2])):
                self._futures.append(self._pool.submit(_scan_task, task))
        except (OSError, BrokenProcessPool):
            self.close()

    def results(self) -> dict[str, Found]:
        """Wait for the workers; return what they found (possibly not everything)."""
        from concurrent.futures.process import BrokenProcessPool  # noqa: PLC0415

        found: dict[str, Found] = {}
        try:
            for future in self._futures:
                try:
                    found.update(future.result())
                except (OSError, BrokenProcessPool):
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
