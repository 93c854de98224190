"""corral's own state object in the bucket: what corral uploaded, and its releases.

Kept at ``PREFIX/.corral/state.json`` (gzip-compressed JSON)::

    {"version": 1, "release": 7,
     "releases": [{"number": 7, "created": "2026-12-07T14:00:00Z", "objects": 5123}, ...],
     "objects": {"css/app.5217c451387e.css": {"sha256": "…", "size": 9185,
                 "etag": "\"…\"", "meta": "text/css; charset=utf-8|public, …|", "last": 7}},
     "pending": ["css/app.css", ...]}

``objects`` holds every key corral wrote and has not deleted: the sha256 and size of
what it uploaded, the ETag the service returned (compared with the LIST's, as an opaque
token: never as an md5), the headers it was uploaded with, and ``last``, the newest
release that lists it (0 while it is in no release yet). A key is in a kept release when
``last`` is at least the oldest kept release's number. ``pending`` claims keys before a
run uploads them, so a killed run's objects are still known to be corral's.

A copy of the last state read or written is kept next to the build (with its ETag), so
a no-change run reads the state with a conditional GET that answers 304 and no body.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corral.errors import TargetError
from corral.targets.location import S3Location
from corral.targets.store import Headers, ObjectStore

__all__ = ["STATE_KEY", "ObjectRecord", "RemoteState", "load_state", "save_state"]

STATE_KEY = ".corral/state.json"
LEASE_KEY = ".corral/lease.json"
_VERSION = 1
_HEADERS = Headers("application/json", "no-store", None)
_BATCH = 1000  # records encoded at a time


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


@dataclass(slots=True)
class ObjectRecord:
    sha256: str
    size: int
    etag: str
    meta: str
    last: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "size": self.size,
            "etag": self.etag,
            "meta": self.meta,
            "last": self.last,
        }


@dataclass(slots=True)
class RemoteState:
    release: int = 0
    releases: list[dict[str, Any]] = field(default_factory=list)
    objects: dict[str, ObjectRecord] = field(default_factory=dict)
    pending: set[str] = field(default_factory=set)
    etag: str | None = None  # of the state object as read; None when there was none
    #: Read from the copy next to the build after a 304: this machine wrote or read it
    #: last, and nobody has changed it since.
    cached: bool = False

    def encode(self) -> bytes:
        """The gzip-compressed JSON, made a batch of records at a time: a release of tens of
        thousands of objects never exists as one dict of dicts and one JSON string (those
        took 20-30 MiB at each checkpoint of a cold run on the medium corpus)."""
        head = {"version": _VERSION, "release": self.release, "releases": self.releases}
        out = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: a gzip stream
        parts = [out.compress(_dumps(head)[:-1].encode() + b',"objects":{')]
        keys = sorted(self.objects)
        for start in range(0, len(keys), _BATCH):
            batch = {k: self.objects[k].to_json() for k in keys[start : start + _BATCH]}
            text = _dumps(batch)[1:-1]
            parts.append(out.compress((("," if start else "") + text).encode()))
        tail = '},"pending":' + _dumps(sorted(self.pending)) + "}"
        parts += [out.compress(tail.encode()), out.flush()]
        return b"".join(parts)

    @classmethod
    def decode(cls, body: bytes, etag: str | None, where: str) -> RemoteState:
        try:
            data = json.loads(gzip.decompress(body))
            if not isinstance(data, dict) or data.get("version") != _VERSION:
                raise ValueError("unknown version")
            objects = {
                key: ObjectRecord(
                    str(v["sha256"]),
                    int(v["size"]),
                    str(v["etag"]),
                    sys.intern(str(v["meta"])),  # a few distinct values
                    int(v["last"]),
                )
                for key, v in data["objects"].items()
            }
            return cls(
                int(data["release"]),
                list(data["releases"]),
                objects,
                set(data.get("pending", ())),
                etag,
            )
        except (OSError, ValueError, KeyError, TypeError, EOFError) as exc:
            raise TargetError(
                f"{where} is not a state object corral can read ({exc})",
                path=where,
                hint="if another tool wrote it, move it away; if the endpoint is not an S3 "
                "service, fix 'endpoint_url' / AWS_ENDPOINT_URL_S3",
            ) from None


def load_state(store: ObjectStore, location: S3Location, cache: Path) -> RemoteState:
    """Read the state object (conditionally, against the cached copy); empty if none."""
    key = location.key(STATE_KEY)
    where = f"s3://{location.bucket}/{key}"
    cached_etag, cached_body = _read_cache(cache)
    fetched = store.get(key, etag=cached_etag)
    if fetched is None:
        return RemoteState()
    if fetched.not_modified and cached_body is not None:
        state = RemoteState.decode(cached_body, cached_etag, where)
        state.cached = True
        return state
    state = RemoteState.decode(fetched.body, fetched.etag, where)
    _write_cache(cache, fetched.etag, fetched.body)
    return state


def save_state(store: ObjectStore, location: S3Location, state: RemoteState, cache: Path) -> None:
    body = state.encode()
    state.etag = store.put(location.key(STATE_KEY), body, _HEADERS)
    _write_cache(cache, state.etag, body)


def _read_cache(cache: Path) -> tuple[str | None, bytes | None]:
    """The cached state: its ETag on the first line, then the body (one file, one rename)."""
    try:
        etag, _, body = cache.read_bytes().partition(b"\n")
    except OSError:
        return None, None
    return (etag.decode() or None, body) if body else (None, None)


def _write_cache(cache: Path, etag: str, body: bytes) -> None:
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(cache.name + ".tmp")
    tmp.write_bytes(etag.encode() + b"\n" + body)
    os.replace(tmp, cache)
