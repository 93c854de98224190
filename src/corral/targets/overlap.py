"""Uploads that overlap the local build: hashed names and their variants go up while the
build is still compressing.

The build offers each file whose bytes are final (see :mod:`corral.build.sink`): every
hashed name once fingerprinted, each of its variants once compressed. :class:`EarlyUploads`
puts the offers on a bounded queue read by one thread, which on the first offer prepares
the bucket as a publish does — reads the state object and LISTs the prefix once — and
then, a batch at a time, takes the prefix's lease (before the first upload, after
checking that deleting is allowed), claims the batch's keys in the state object (a
checkpoint, so a killed run's objects are known to be corral's) and uploads them on the
uploader's thread pool.

Only hashed names and their variants go up early, only keys the LIST did not show, and
only when every key the LIST showed is corral's (a key in the release's way that corral
did not write fails the run before anything is written, as without the overlap):
no manifest can name them before this run's manifests, which still go up after the
build, after every other name, as do the new release's state. Anything the LIST showed
(an unchanged object, a killed run's upload to adopt, a key corral did not write) is left
to the publish's plan, as is anything whose file could not be read. A failed upload stops
the build (the error is raised to it at its next offer, or when it settles); nothing is
deleted and the previous manifest still names only objects that exist.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from corral.digest import file_sha256
from corral.targets.lease import Lease
from corral.targets.location import S3Options
from corral.targets.release import LocalObject, hashed_object
from corral.targets.remote import RemoteState
from corral.targets.store import Listed
from corral.targets.upload import Bucket, Pacing, upload_batch

__all__ = ["EarlyUploads", "Prepared"]

#: Offers waiting for the uploader (a few hundred bytes each): the build blocks beyond it.
QUEUE_SIZE = 20_000
#: How long offers gather into one batch (one state checkpoint claims a whole batch).
BATCH_SECONDS = 2.0
BATCH_MAX = 5_000
_CHUNK = 256  # uploads between two looks at whether the build failed
_DONE = ("", "", None)  # the end of the offers


@dataclass(slots=True)
class Prepared:
    """The bucket as the run found it (its state and LIST), and the run's lease."""

    state: RemoteState
    listed: dict[str, Listed]
    lease: Lease | None = None  # taken before the first early upload
    early: set[str] = field(default_factory=set)  # keys uploaded while the build ran
    bytes_sent: int = 0


@dataclass(slots=True)
class _Tally:
    failure: BaseException | None = None
    prepared: Prepared | None = None
    offered: set[str] = field(default_factory=set)


class EarlyUploads:
    """A :class:`~corral.build.sink.ReleaseSink` that uploads hashed names and variants
    while the build runs. ``prepare`` reads the state and LISTs; ``lease`` checks that
    deleting is allowed and takes the prefix's lease (only when there is something to
    upload: a run that finds everything in place writes nothing); ``checkpoint`` saves
    the state object."""

    def __init__(
        self,
        bucket: Bucket,
        options: S3Options,
        prepare: Callable[[], Prepared],
        lease: Callable[[], Lease],
        checkpoint: Callable[[RemoteState], None],
    ) -> None:
        self._bucket, self._options = bucket, options
        self._prepare, self._lease, self._checkpoint = prepare, lease, checkpoint
        self._queue: queue.Queue[tuple[str, str, str | None]] = queue.Queue(QUEUE_SIZE)
        self._tally = _Tally()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._stopping = False  # the build failed: upload nothing more

    # -- the build's side (corral.build.sink.ReleaseSink) --------------------------------

    def offer(self, relative: str, path: str, sha256: str | None) -> None:
        if self._tally.failure is not None:
            raise self._tally.failure
        if self._closed or relative in self._tally.offered:
            return
        self._tally.offered.add(relative)
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="corral-early", daemon=True)
            self._thread.start()
        self._queue.put((relative, path, sha256))

    def settle(self) -> None:
        self._close()
        if self._tally.failure is not None:
            raise self._tally.failure

    # -- the publisher's side -------------------------------------------------------------

    def finish(self) -> Prepared | None:
        """After the build: wait for the uploads, and hand over the state, the LIST and
        the lease (None when nothing was offered). Raises the uploads' failure."""
        self.settle()
        return self._tally.prepared

    def abort(self) -> None:
        """After a failed build: stop, record what made it, let go of the lease."""
        self._stopping = True
        self._close()
        prepared = self._tally.prepared
        if prepared is not None and prepared.lease is not None:  # it wrote: record, let go
            with contextlib.suppress(Exception):  # the build's error is the one to report
                self._checkpoint(prepared.state)
            with contextlib.suppress(Exception):  # an unreleased lease expires
                prepared.lease.release()

    def _close(self) -> None:
        if not self._closed:
            self._closed = True
            if self._thread is not None:
                self._queue.put(_DONE)
        if self._thread is not None:
            self._thread.join()

    # -- the uploader thread --------------------------------------------------------------

    def _run(self) -> None:
        tally = self._tally
        try:
            prepared = tally.prepared = self._prepare()
        except BaseException as exc:
            tally.failure = exc
            self._drain()
            return
        if _others_present(prepared):
            self._drain()  # the plan decides, and may refuse before anything is written
            return

        def checkpoint() -> None:
            self._checkpoint(prepared.state)
            if prepared.lease is not None:
                prepared.lease.keep()

        pacing = Pacing(self._options.concurrency, checkpoint)
        ended = False
        while not ended and not self._stopping:
            batch, ended = self._gather(prepared)
            if not batch or self._stopping:
                continue
            try:
                if prepared.lease is None:
                    prepared.lease = self._lease()
                prepared.state.pending |= {o.relative for o in batch}
                pacing.checkpoint()  # claimed before uploaded: a killed run's objects are ours
            except BaseException as exc:
                tally.failure = exc
                break
            failure = None
            for start in range(0, len(batch), _CHUNK):
                if self._stopping:  # the build failed: finish what is in flight, no more
                    break
                failure = self._upload(prepared, batch[start : start + _CHUNK], pacing)
                if failure is not None:
                    break
            if failure is not None:
                tally.failure = failure
                with contextlib.suppress(Exception):  # the upload's error is the one to report
                    pacing.checkpoint()
                break
        if not ended:
            self._drain()

    def _upload(
        self, prepared: Prepared, chunk: list[LocalObject], pacing: Pacing
    ) -> BaseException | None:
        """Upload claimed objects; record each that made it as listed (the plan then
        finds it unchanged)."""
        before = {o.relative: prepared.state.objects.get(o.relative) for o in chunk}
        sent, failure = upload_batch(self._bucket, chunk, prepared.state, pacing)
        prepared.bytes_sent += sent
        for obj in chunk:
            record = prepared.state.objects.get(obj.relative)
            if record is not None and record is not before[obj.relative]:
                key = self._bucket.location.key(obj.relative)
                prepared.listed[obj.relative] = Listed(key, record.size, record.etag)
                prepared.early.add(obj.relative)
        return failure

    def _gather(self, prepared: Prepared) -> tuple[list[LocalObject], bool]:
        """The next batch: offers for up to ``BATCH_SECONDS``, as objects to upload."""
        batch: list[LocalObject] = []
        deadline: float | None = None
        while len(batch) < BATCH_MAX:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                relative, path, sha256 = self._queue.get(timeout=timeout)
            except queue.Empty:
                return batch, False
            if not relative:
                return batch, True
            deadline = deadline or time.monotonic() + BATCH_SECONDS
            if relative in prepared.listed:
                continue  # in the bucket already: the plan decides
            obj = self._describe(relative, path, sha256)
            if obj is not None:
                batch.append(obj)
        return batch, False

    def _describe(self, relative: str, path: str, sha256: str | None) -> LocalObject | None:
        try:
            size = Path(path).stat().st_size
            if sha256 is None:
                sha256 = file_sha256(Path(path))
        except OSError:
            return None  # gone (a stale cache entry, say): the plan uploads the release's copy
        return hashed_object(relative, path, sha256, size, self._options)

    def _drain(self) -> None:
        """Take every offer left, so the build never blocks on a full queue."""
        while self._queue.get() != _DONE:
            pass


def _others_present(prepared: Prepared) -> bool:
    """Whether the prefix holds keys corral did not write: the publish's plan refuses
    those in the release's way (unless ``--force``), so nothing goes up early."""
    state = prepared.state
    return any(
        key not in state.objects and key not in state.pending and not key.startswith(".corral/")
        for key in prepared.listed
    )
