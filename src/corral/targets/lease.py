"""One writer per prefix: a lease object, created with ``If-None-Match: *``.

A run that will write takes the lease (``PREFIX/.corral/lease.json``: who, and until when)
with a conditional create, so a second run on the same prefix finds it and is refused. A
killed run's lease expires after ``s3.lease_seconds`` (at once for a run on the same
machine whose process is gone); a later run replaces an expired lease. The lease is read
back after it is written, so a service that ignores the condition (some S3-compatibles
do) still lets only the last writer proceed. A no-change
run writes nothing and takes no lease.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from corral.errors import LockError
from corral.targets.location import S3Location
from corral.targets.remote import LEASE_KEY
from corral.targets.store import Headers, ObjectStore, PreconditionFailed

__all__ = ["Lease", "acquire"]

_HEADERS = Headers("application/json", "no-store", None)


@dataclass(slots=True)
class Lease:
    store: ObjectStore
    key: str
    token: str
    seconds: int
    renewed: float = field(default_factory=time.monotonic)

    def renew(self) -> None:
        self.store.put(self.key, _body(self.token, self.seconds), _HEADERS)
        self.renewed = time.monotonic()

    def keep(self) -> None:
        """Renew the lease once a third of its time has passed (at each checkpoint: a run
        that overlaps its uploads with a long build holds the lease that long)."""
        if time.monotonic() - self.renewed > self.seconds / 3:
            self.renew()

    def release(self) -> None:
        self.store.delete([self.key])


def acquire(store: ObjectStore, location: S3Location, seconds: int) -> Lease:
    """Take the prefix's lease, or raise :class:`LockError` naming the holder."""
    key = location.key(LEASE_KEY)
    token = uuid.uuid4().hex
    for _ in range(2):
        try:
            store.put(key, _body(token, seconds), _HEADERS, create_only=True)
        except PreconditionFailed:
            held = store.get(key)
            info = _parse(held.body) if held is not None else {}
            expires = info.get("expires", 0)
            live = isinstance(expires, int | float) and expires > time.time()
            if live and not _dead_here(info):
                raise _refused(location, key, info) from None
            store.delete([key])  # expired, or its run on this machine was killed: replace it
            continue
        held = store.get(key)
        if held is None or _parse(held.body).get("token") != token:
            raise _refused(location, key, _parse(held.body) if held else {})
        return Lease(store, key, token, seconds)
    raise _refused(location, key, {})


def _dead_here(info: dict[str, object]) -> bool:
    """Whether the lease's run was on this machine and its process is gone."""
    pid = info.get("pid")
    if info.get("host") != socket.gethostname() or not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def _body(token: str, seconds: int) -> bytes:
    now = time.time()
    return json.dumps(
        {
            "token": token,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started": now,
            "expires": now + seconds,
        }
    ).encode()


def _parse(body: bytes) -> dict[str, object]:
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _refused(location: S3Location, key: str, info: dict[str, object]) -> LockError:
    pid = info.get("pid")
    expires = info.get("expires")
    until = (
        datetime.fromtimestamp(float(expires), UTC).strftime("%H:%M:%S UTC")
        if isinstance(expires, int | float)
        else "soon"
    )
    return LockError(
        f"another corral run (host {info.get('host', '?')}, pid {pid or '?'}) is publishing "
        f"to {location.url}",
        path=f"s3://{location.bucket}/{key}",
        holder_pid=pid if isinstance(pid, int) else None,
        hint=f"wait for it to finish; if it was killed, its lease expires at {until} (or "
        f"delete s3://{location.bucket}/{key} once you are sure no run is active)",
    )
