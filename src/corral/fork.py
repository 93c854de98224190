"""Forked processes: when forking is safe, how a child ends with its parent, and one
function run in a child while the parent goes on.

corral forks for two things: the worker processes of :mod:`corral.workers` (a cold
run's staging and reference finding), and :func:`in_child`, which every run with
many published files uses to check them (an ``lstat`` each, 22,066 on the
benchmark's full corpus) while the main process scans the sources (a ``stat`` each):
the two are independent, and on two cores they overlap. Where forking is not safe,
everything runs in the main process, with the same result.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import TypeVar

__all__ = ["die_with", "in_child", "usable"]

_T = TypeVar("_T")

_PR_SET_PDEATHSIG = 1  # prctl(2)


def usable() -> bool:
    """Whether processes can be forked safely here: on Linux, while this is the
    process's only thread.

    Forking re-imports nothing (spawning would re-run a host program's ``__main__``),
    but a lock another thread holds would stay held in the child, and macOS frameworks
    are not fork-safe; elsewhere everything is done in the main process.
    """
    return sys.platform.startswith("linux") and threading.active_count() == 1


def die_with(parent: int) -> None:
    """End this forked process when ``parent`` (the run that forked it) ends, even by
    SIGKILL.

    Otherwise a killed run's worker could go on writing into the staging tree that
    the next run is removing.
    """
    import ctypes  # noqa: PLC0415

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the request took effect
        os._exit(1)


def in_child(fn: Callable[[], _T]) -> Callable[[], _T]:
    """Start ``fn()`` in a forked process now; the function returned waits for it and
    returns its result (which must pickle, and should be small).

    Where forking is not safe (:func:`usable`), or the child fails in any way, ``fn``
    runs in this process when the result is asked for: the same result, later. Call
    the returned function exactly once, also on error paths (it reaps the child).
    """
    if not usable():
        return fn
    import pickle  # noqa: PLC0415

    read_fd, write_fd = os.pipe()
    parent = os.getpid()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_fd)
        os.close(write_fd)
        return fn
    if pid == 0:  # the child: never returns, never runs the parent's exit handlers
        status = 1
        try:
            os.close(read_fd)
            die_with(parent)
            view = memoryview(pickle.dumps(fn(), protocol=pickle.HIGHEST_PROTOCOL))
            while view:
                view = view[os.write(write_fd, view) :]
            status = 0
        finally:
            os._exit(status)
    os.close(write_fd)

    def result() -> _T:
        try:
            with open(read_fd, "rb") as pipe:
                payload = pipe.read()
        finally:
            _, status = os.waitpid(pid, 0)
        if status == 0:
            with contextlib.suppress(Exception):
                return pickle.loads(payload)  # type: ignore[no-any-return]
        return fn()

    return result
