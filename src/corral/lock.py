"""The target lock: one writer at a time, released by the kernel if a run dies.

POSIX record locks (``fcntl.lockf``) are used because the kernel can name the
process holding one (``F_GETLK``), which goes into the error message, and because
they vanish with the process even on SIGKILL — no stale lock files to clean up.
Acquiring the lock writes nothing, so a no-change run leaves the target untouched.
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
import struct
import threading
import time
from pathlib import Path
from types import TracebackType

from corral.errors import LockError, TargetError

__all__ = ["TargetLock", "holder", "seconds"]

# struct flock on Linux: short l_type, short l_whence, off_t l_start, off_t l_len, pid_t l_pid
_FLOCK = "hhqqixxxx"

# POSIX record locks belong to a process: a second run in the same process would get
# the lock too, and release it for both when it closes its descriptor. So runs in one
# process first queue on a thread lock per lock file.
_IN_PROCESS: dict[str, threading.Lock] = {}
_IN_PROCESS_GUARD = threading.Lock()


def _thread_lock(path: Path) -> threading.Lock:
    with _IN_PROCESS_GUARD:
        return _IN_PROCESS.setdefault(os.path.realpath(path), threading.Lock())


class TargetLock:
    """Exclusive lock on ``lock_file``; waits up to ``wait`` seconds (0: fail at once)."""

    def __init__(self, lock_file: Path, root: Path, *, wait: float = 0.0) -> None:
        self.lock_file = lock_file
        self.root = root
        self.wait = wait
        self._fd: int | None = None
        self._thread_lock = _thread_lock(lock_file)

    def __enter__(self) -> TargetLock:
        if math.isinf(self.wait):
            acquired = self._thread_lock.acquire()  # wait as long as it takes
        elif self.wait > 0:
            acquired = self._thread_lock.acquire(timeout=self.wait)
        else:
            acquired = self._thread_lock.acquire(blocking=False)
        if not acquired:
            raise LockError(
                f"another corral run in this process is writing to {self.root}",
                path=str(self.root),
                holder_pid=os.getpid(),
                hint="let it finish, or pass --wait SECONDS to wait for it",
            )
        try:
            return self._enter()
        except BaseException:
            self._thread_lock.release()
            raise

    def _enter(self) -> TargetLock:
        try:
            fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise TargetError(
                f"can't open the lock file {self.lock_file}: {exc.strerror or exc}; "
                "nothing was changed",
                path=str(self.root),
                hint="the target must be writable: check its permissions and mount",
            ) from exc
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                if time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                holder = _holder(fd)
                os.close(fd)
                who = f"process {holder}" if holder else "another process"
                waited = f" (waited {self.wait:g} s)" if self.wait else ""
                raise LockError(
                    f"another corral run ({who}) is writing to {self.root}{waited}",
                    path=str(self.root),
                    holder_pid=holder,
                    hint="let it finish, or pass --wait SECONDS to wait for it",
                ) from None
            self._fd = fd
            return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the lock
            self._fd = None
            self._thread_lock.release()


def seconds(text: str) -> float:
    """A ``--wait``: 0 or more seconds, ``inf`` for no limit (ValueError otherwise)."""
    value = float(text)
    if not value >= 0:  # negative, or NaN
        raise ValueError(f"not 0 or more seconds: {text!r}")
    return value


def holder(lock_file: Path) -> int | None:
    """The process that holds the lock on ``lock_file`` now (``None``: nobody, or this
    process); takes nothing, writes nothing."""
    try:
        fd = os.open(lock_file, os.O_RDONLY)
    except OSError:
        return None
    try:
        return _holder(fd)
    finally:
        os.close(fd)


def _holder(fd: int) -> int | None:
    with contextlib.suppress(OSError, struct.error):
        query = struct.pack(_FLOCK, fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
        answer = fcntl.fcntl(fd, fcntl.F_GETLK, query)
        l_type, _, _, _, pid = struct.unpack(_FLOCK, answer)
        if l_type != fcntl.F_UNLCK and pid > 0:
            return int(pid)
    return None
