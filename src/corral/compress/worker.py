"""One unit of parallel work: compress one content in one encoding into the cache.

:func:`run_task` runs on a pool thread (it only takes and returns plain data, so it
could run in a process too). It streams the original in 1 MiB chunks through the
encoder into a ``.tmp-*`` file of the content's cache directory, re-hashes what it
reads, and renames the temporary file into place only if the bytes read are exactly
the job's (size and sha256): the cache is keyed by that digest, so a file edited
during the build must not poison it. Whatever happens, the temporary file is gone
when it returns, and failures come back as an :class:`Outcome`, never raised.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import BinaryIO, Literal

from corral.compress.cache import CompressionCache, integrity_of
from corral.compress.encoders import new_encoder
from corral.compress.memory import RELEASE_FROM, memory_of, release_free_memory
from corral.compress.policy import Encoding
from corral.guards import write_all

__all__ = ["Kind", "Outcome", "Task", "run_task"]

_CHUNK = 1 << 20
_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Task:
    """Compress ``source`` (``size`` bytes, sha256 ``digest``) as ``encoding`` at ``level``."""

    cache_root: str
    digest: str
    source: str
    size: int
    encoding: Encoding
    level: int


#: ``stored``: a variant is in the cache at ``path``; ``nogain``: it failed the ratio
#: gate, and that was recorded; the rest are failures, described by ``message``:
#: the source can't be read, it changed, the cache can't be written, the encoder failed.
#: ``vanished`` (retried, never returned): the cache directory was pruned meanwhile.
Kind = Literal["stored", "nogain", "unreadable", "changed", "cache", "encoder", "vanished"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of a :class:`Task` (``size`` and ``integrity`` of the encoded bytes)."""

    task: Task
    kind: Kind
    size: int = 0
    integrity: str = ""
    path: str = ""
    message: str = ""


class _Failure(Exception):
    def __init__(self, kind: Kind, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def run_task(task: Task, max_ratio: float) -> Outcome:
    """Compress one (content, encoding) into the cache; never leaves a visible partial entry.

    If the content's cache directory disappears meanwhile (another process pruned
    the shared cache between our ``mkdir`` and our ``rename``), it tries again.
    """
    try:
        for _attempt in range(_ATTEMPTS - 1):
            outcome = _run_once(task, max_ratio)
            if outcome.kind != "vanished":
                return outcome
        outcome = _run_once(task, max_ratio)
        return outcome if outcome.kind != "vanished" else replace(outcome, kind="cache")
    finally:
        if memory_of(task.encoding, task.level, task.size) >= RELEASE_FROM:
            release_free_memory()  # the encoder is gone: give its memory back (see .memory)


def _run_once(task: Task, max_ratio: float) -> Outcome:
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
            except FileNotFoundError as exc:  # pruned by another process just now
                raise _Failure("vanished", _reason(exc)) from exc
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
            return Outcome(task, "stored", size, integrity_of(sha384), str(final))
        _rename(temp, cache.nogain_path(task.digest, task.encoding, task.level, size), empty=True)
        temp = None
        return Outcome(task, "nogain", size)
    except _Failure as failure:
        return Outcome(task, failure.kind, message=str(failure))
    finally:
        if temp is not None:
            with contextlib.suppress(OSError):
                temp.unlink()


def _stream(source: BinaryIO, sink: int, task: Task) -> tuple[int, bytes]:
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
        try:
            write_all(sink, out)
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
        CompressionCache.seal(temp)
        os.replace(temp, final)
    except FileNotFoundError as exc:  # the directory was pruned by another process
        raise _Failure("vanished", _reason(exc)) from exc
    except OSError as exc:
        raise _Failure("cache", _reason(exc)) from exc


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)
