"""Hashed names and the digests of a file's bytes.

Names follow Django's ``HashedFilesMixin.hashed_name`` exactly: the last path
segment is split with ``splitext`` and the first 12 hex digits of the MD5 of
the content go between root and extension::

    css/app.css      -> css/app.1a2b3c4d5e6f.css
    a.tar.gz         -> a.tar.1a2b3c4d5e6f.gz
    LICENSE          -> LICENSE.1a2b3c4d5e6f
    .htaccess        -> .htaccess.1a2b3c4d5e6f

Unlike Django the logical path is taken literally: Django first runs it
through ``unquote`` and ``urlsplit`` and strips blanks, so a file named
``a%20b.css``, ``a#b.css`` or ``a?b.css`` gets a hashed name under which
Django then never saves it.
"""

from __future__ import annotations

import hashlib
import posixpath

from corral.digest import sri_value

__all__ = [
    "HASH_LENGTH",
    "group_member_hash",
    "hashed_name",
    "integrity",
    "md5_hex",
    "name_hash",
    "sha256_and_integrity",
    "sha256_hex",
]

#: Django's length of the hash in a name.
HASH_LENGTH = 12


def hashed_name(logical: str, file_hash: str) -> str:
    """Return ``logical`` with ``file_hash`` inserted before its extension (Django's rule)."""
    directory, base = posixpath.split(logical)
    root, ext = posixpath.splitext(base)
    return posixpath.join(directory, f"{root}.{file_hash}{ext}")


def md5_hex(data: bytes) -> str:
    """Return the MD5 hex digest of ``data`` (a name, not a security measure)."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def name_hash(data: bytes) -> str:
    """Return the hash that goes into the name of a file holding ``data``."""
    return md5_hex(data)[:HASH_LENGTH]


def sha256_hex(data: bytes) -> str:
    """Return the SHA-256 hex digest of ``data``."""
    return hashlib.sha256(data).hexdigest()


def integrity(data: bytes, algorithm: str = "sha256") -> str:
    """Return the Subresource Integrity value (``sha256-<base64>``) of ``data``."""
    return sri_value(algorithm, hashlib.new(algorithm, data).digest())


def sha256_and_integrity(data: bytes, algorithm: str) -> tuple[str, str]:
    """Return the SHA-256 hex digest of ``data`` and its SRI value, hashing once when
    ``algorithm`` is sha256."""
    if algorithm != "sha256":
        return sha256_hex(data), integrity(data, algorithm)
    digest = hashlib.sha256(data)
    return digest.hexdigest(), sri_value("sha256", digest.digest())


def group_member_hash(group_digest: str, logical: str) -> str:
    """Return the name hash of ``logical`` in a reference cycle whose digest is ``group_digest``.

    Derived from the group digest and the member's path, so members differ
    from each other and change together whenever anything in the group does.
    """
    return md5_hex(f"{group_digest}\0{logical}".encode())[:HASH_LENGTH]
