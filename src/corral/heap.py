"""Giving freed memory back to the system.

glibc keeps memory a program freed for its next allocations, in the heap and in each
thread's arena, so a process stays at its high-water mark after a burst of temporary
objects (reading the state, compressing a big file) unless it asks glibc to return
it (``malloc_trim``). Elsewhere (musl, macOS) there is nothing to do.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

__all__ = ["release_free_memory"]

_lock = threading.Lock()


@cache
def _malloc_trim() -> Any:
    """glibc's ``malloc_trim``, or None where there is none."""
    import ctypes  # noqa: PLC0415 - only runs that free a lot need it

    try:
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_free_memory() -> None:
    """Return the memory freed so far to the system (glibc only; a no-op elsewhere)."""
    trim = _malloc_trim()
    if trim is not None:
        with _lock:  # one walk of the arenas at a time is enough
            trim(0)
