"""Uploads in order: hashed names, then other names, then the manifests.

Each phase runs on a bounded thread pool (``s3.concurrency``); the next phase starts
only when the previous one is complete, so a manifest is never visible before every
object it names. Each finished upload is recorded in the state, and the state object is
checkpointed after each phase and every ``CHECKPOINT_SECONDS`` within one: a run killed
mid-way leaves the next run knowing what made it (and re-uploading only the rest). When
an upload fails for good, the uploads in flight are finished, the state checkpointed,
and the error raised; nothing is deleted.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import NamedTuple

from corral.targets.location import S3Location
from corral.targets.release import LocalObject
from corral.targets.remote import ObjectRecord, RemoteState
from corral.targets.store import ObjectStore

__all__ = ["CHECKPOINT_SECONDS", "Bucket", "Pacing", "upload_all", "upload_batch"]

CHECKPOINT_SECONDS = 10.0


class Bucket(NamedTuple):
    """Where the objects go: the store and the prefix's location in it."""

    store: ObjectStore
    location: S3Location


class Pacing(NamedTuple):
    """How the uploads run: threads, the state's checkpoint, the progress callback."""

    concurrency: int
    checkpoint: Callable[[], None]
    progress: Callable[[int, int], None] | None = None


def upload_all(
    bucket: Bucket, uploads: Sequence[LocalObject], state: RemoteState, pacing: Pacing
) -> int:
    """Upload every object (in phase order); return the bytes sent."""
    checkpoint = pacing.checkpoint
    counter = _Counter(len(uploads), pacing.progress, checkpoint)
    phases = sorted({o.phase for o in uploads})
    for phase in phases:
        batch = [o for o in uploads if o.phase == phase]
        failure = _phase(bucket, batch, state, pacing.concurrency, counter)
        if failure is not None:
            with contextlib.suppress(Exception):  # the upload's error is the one to report
                checkpoint()  # record what made it, so the next run does not send it again
            raise failure
        if phase != phases[-1]:
            counter.checkpoint_now()
    return counter.sent


def upload_batch(
    bucket: Bucket, batch: Sequence[LocalObject], state: RemoteState, pacing: Pacing
) -> tuple[int, BaseException | None]:
    """Upload one batch of objects of the same phase (see :mod:`.overlap`): the bytes
    sent, and the error when an upload failed for good (the others in flight are
    finished and recorded in the state first)."""
    counter = _Counter(len(batch), pacing.progress, pacing.checkpoint)
    failure = _phase(bucket, batch, state, pacing.concurrency, counter)
    return counter.sent, failure


class _Counter:
    """Bytes and objects sent, progress, and when the next checkpoint is due."""

    def __init__(
        self,
        total: int,
        progress: Callable[[int, int], None] | None,
        checkpoint: Callable[[], None],
    ) -> None:
        self.total, self.progress, self.checkpoint = total, progress, checkpoint
        self.sent = 0
        self.done = 0
        self.last = time.monotonic()

    def add(self, size: int) -> None:
        self.sent += size
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total)
        if time.monotonic() - self.last > CHECKPOINT_SECONDS:
            self.checkpoint_now()

    def checkpoint_now(self) -> None:
        self.checkpoint()
        self.last = time.monotonic()


def _phase(
    bucket: Bucket,
    batch: Sequence[LocalObject],
    state: RemoteState,
    concurrency: int,
    counter: _Counter,
) -> BaseException | None:
    """Upload one phase; on a failure, finish what is in flight and return the error."""
    store, location = bucket
    failure: BaseException | None = None
    queue = iter(batch)
    running: dict[Future[str], LocalObject] = {}
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="corral-s3") as pool:
        while True:
            while failure is None and len(running) < concurrency * 2:
                obj = next(queue, None)
                if obj is None:
                    break
                key = location.key(obj.relative)
                running[pool.submit(store.put, key, Path(obj.path), obj.headers)] = obj
            if not running:
                return failure
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                obj = running.pop(future)
                try:
                    etag = future.result()
                except BaseException as exc:
                    failure = failure or exc
                    continue
                previous = state.objects.get(obj.relative)
                state.objects[obj.relative] = ObjectRecord(
                    obj.sha256, obj.size, etag, obj.meta, previous.last if previous else 0
                )
                if failure is None:
                    counter.add(obj.size)
