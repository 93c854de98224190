"""Content digests, one home: the sha256 that identifies a file everywhere, the md5 of
Django-style hashed names, and Subresource Integrity values (``sha384-<base64>``).

A run reads each file once (:func:`digest_file`) and computes every digest it will need
from that one read; the fingerprint engine, the stage and the workers import them here.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from corral.guards import ChangedWhileRead

__all__ = [
    "SRI_ALGORITHMS",
    "WHOLE_READ_LIMIT",
    "Digests",
    "digest_file",
    "file_sha256",
    "sri_value",
]

#: Files up to this size are read in one call and hashed in memory; larger ones stream.
WHOLE_READ_LIMIT = 8 << 20
_CHUNK = 1 << 20


class Digests(NamedTuple):
    """A file's sha256 (always), and md5 and SRI integrity (when fingerprinting)."""

    sha256: str
    md5: str | None = None
    integrity: str | None = None


#: The Subresource Integrity algorithms corral writes (browsers support all three).
SRI_ALGORITHMS = ("sha256", "sha384", "sha512")


def sri_value(algorithm: str, digest: bytes) -> str:
    """The SRI string (``sha256-<base64>``) of a raw ``digest`` made by ``algorithm``."""
    import base64  # noqa: PLC0415

    return f"{algorithm}-{base64.b64encode(digest).decode('ascii')}"


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The hex sha256 of a file, read in 1 MiB chunks (memory flat whatever its size)."""
    import hashlib  # noqa: PLC0415

    hasher = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest()


def digest_file(
    path: str, *, sri: str | None = None, size: int | None = None
) -> tuple[Digests, bytes | None]:
    """Hash a file in one read; return its digests, and its bytes when it is small.

    With ``sri`` (one of :data:`SRI_ALGORITHMS`: the run fingerprints), also the md5
    (Django's hashed names) and the SRI integrity, so fingerprinting never has to read
    an unchanged file again. A ``sha256`` integrity is the content digest itself: it
    costs nothing more.

    ``size`` is the size the scan saw, which spares a ``stat``; a file that holds another
    number of bytes when it is read raises :class:`ChangedWhileRead` (it is being written).
    """
    # Imported here (cached after the first call): a no-change run reads no file.
    import hashlib  # noqa: PLC0415

    hashers = [hashlib.sha256()]
    if sri is not None:
        hashers.append(hashlib.md5(usedforsecurity=False))
        if sri != "sha256":
            hashers.append(hashlib.new(sri))
    data: bytes | None = None
    fd = os.open(path, os.O_RDONLY)  # unbuffered: one read for a small file, no io objects
    try:
        if size is None:
            size = os.fstat(fd).st_size
        if size <= WHOLE_READ_LIMIT:
            data = os.read(fd, size + 1)
            if len(data) != size:
                # A short read, or the file has grown or shrunk since its size was taken:
                # read on to the end. Exactly ``size`` bytes, the usual case, needs no
                # second read to find the end.
                parts = [data]
                while parts[-1]:
                    parts.append(os.read(fd, _CHUNK))
                data = b"".join(parts)
            read = len(data)
            for hasher in hashers:
                hasher.update(data)
        else:
            read = 0
            while chunk := os.read(fd, _CHUNK):
                read += len(chunk)
                for hasher in hashers:
                    hasher.update(chunk)
    finally:
        os.close(fd)
    if read != size:  # its name, digest and size would describe different bytes
        raise ChangedWhileRead(path, size, read)
    if sri is None:
        return Digests(hashers[0].hexdigest()), data
    integrity = sri_value(sri, (hashers[2] if sri != "sha256" else hashers[0]).digest())
    return Digests(hashers[0].hexdigest(), hashers[1].hexdigest(), integrity), data
