"""The object store seam: the few calls a remote publish makes, as a small ``Protocol``.

The plan, lease, retention and upload logic are written against :class:`ObjectStore`
only, so they can be reused with another client library and tested against any server.
Implementations raise :class:`corral.errors.TargetError` (with a hint naming the setting
to fix) for anything but the outcomes these signatures return.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

__all__ = ["Fetched", "Headers", "Listed", "ObjectStore", "PreconditionFailed"]


@dataclass(frozen=True, slots=True)
class Listed:
    """One object of a LIST: its key, size and (opaque) ETag."""

    key: str
    size: int
    etag: str


@dataclass(frozen=True, slots=True)
class Fetched:
    """A GET: the body and ETag, or ``not_modified`` when the caller's ETag still holds."""

    body: bytes
    etag: str
    not_modified: bool = False


@dataclass(frozen=True, slots=True)
class Headers:
    """What an object is served with, plus the sha256 corral records in its metadata."""

    content_type: str
    cache_control: str
    content_encoding: str | None = None
    sha256: str | None = None


class PreconditionFailed(Exception):
    """A conditional write lost: the object exists (``If-None-Match: *``)."""


class ObjectStore(Protocol):
    """An S3-compatible bucket, as corral uses it."""

    def list(self, prefix: str) -> Iterator[Listed]:
        """Every object under ``prefix``, one paginated LIST."""
        ...

    def get(self, key: str, *, etag: str | None = None) -> Fetched | None:
        """The object, None when it does not exist; with ``etag``, a conditional GET."""
        ...

    def put(
        self,
        key: str,
        body: bytes | Path,
        headers: Headers,
        *,
        create_only: bool = False,
    ) -> str:
        """Write the object (a file is streamed, in parts when large); return its ETag.

        ``create_only`` makes the write conditional (``If-None-Match: *``): it raises
        :class:`PreconditionFailed` when the key already exists.
        """
        ...

    def delete(self, keys: Sequence[str]) -> None:
        """Delete the keys (batched DeleteObjects); missing keys are not an error."""
        ...

    def close(self) -> None:
        """Let go of connections (the store may be used again: it reconnects)."""
        ...
