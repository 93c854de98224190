"""A content-addressed, self-verifying cache of compressed variants.

Layout (the pipeline puts ``root`` at ``<cache dir>/compress/``, see
:mod:`corral.compress.location`; one cache serves every project and run of a user)::

    root/CACHEDIR.TAG
    root/v1/<digest[:2]>/<digest>/<encoding>-<level>-<library>.<sha384 hex><ext>
    root/v1/<digest[:2]>/<digest>/<encoding>-<level>-<library>.nogain-<encoded size>

``digest`` is the sha256 hex of the original bytes, ``library`` the
:func:`~corral.compress.encoders.library_tag` that produced the bytes. A file of the
first form holds exactly the encoded bytes (so it can be copied into a target as is)
and is read-only (``0o444`` less the umask): the cache never writes into an entry,
it only adds and deletes whole files. The sha384 of those bytes is in its name and
is checked on every read: an entry whose bytes do not match (corrupt, truncated,
torn by a power loss) is deleted and reported as a miss, never returned. A file of
the second form is empty and records that the variant was ``encoded size`` bytes,
too big to keep under the ratio gate in force when it was computed; the gate is
re-applied on read, so tightening the gate needs no recomputation and loosening it
recomputes only what might now pass.

Entries are written to ``.tmp-*`` files in the same directory and renamed into
place; lookups ignore names starting with a dot, so a writer killed mid-write
leaves nothing that can be served, and :meth:`CompressionCache.prune` removes such
leftovers. No fsync: an entry torn by a crash fails verification instead.
Concurrent writers of one entry write identical bytes under one name; the last
rename wins.

Several processes of several projects may use one cache at once. A lookup that
finds an entry touches its content directory (so the directory's mtime is its last
use, which :mod:`.maintenance` prunes by); a content directory holding a fresh
temporary file is being written and is never pruned; a reader that finds an entry
gone or changed by the time it copies it treats it as a miss.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
import secrets
import time
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path

from corral.compress.encoders import EXTENSIONS, library_tag
from corral.compress.policy import Encoding

__all__ = [
    "CachedVariant",
    "CompressionCache",
    "NoGain",
    "PruneStats",
    "being_written",
    "check_digest",
    "entry_key",
    "integrity_of",
    "remove_tree",
]

_SCHEMA = "v1"
_DIGEST = re.compile(r"[0-9a-f]{64}")
_SHA384_HEX = re.compile(r"[0-9a-f]{96}")
_NOGAIN = "nogain-"
_TEMP_PREFIX = ".tmp-"
#: A temporary file older than this is a leftover of a crashed writer.
STALE_TEMP_SECONDS = 3600.0
_CHUNK = 1 << 20
_CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by corral (compressed variants).\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)


@dataclass(frozen=True, slots=True)
class CachedVariant:
    """A verified cache entry: ``path`` holds ``size`` encoded bytes with ``integrity``."""

    path: Path
    size: int
    integrity: str


@dataclass(frozen=True, slots=True)
class NoGain:
    """A recorded result: the variant was ``size`` bytes, and was not kept."""

    size: int


@dataclass(frozen=True, slots=True)
class PruneStats:
    """What :meth:`CompressionCache.prune` removed."""

    contents: int
    files: int
    bytes: int


def entry_key(encoding: Encoding, level: int) -> str:
    """Return the cache key prefix of an (encoding, level) with the current library."""
    return f"{encoding}-{level}-{library_tag(encoding)}"


def check_digest(digest: str) -> None:
    """Raise ``ValueError`` unless ``digest`` is a lower-case sha256 hex digest."""
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise ValueError(f"not a sha256 hex digest: {digest!r}")


def integrity_of(sha384: bytes) -> str:
    """Return the Subresource Integrity string (``sha384-<base64>``) of a raw sha384."""
    return "sha384-" + base64.b64encode(sha384).decode("ascii")


class CompressionCache:
    """Compressed variants keyed by (content digest, encoding, level, library version).

    The directory ``root`` is created on first write. Methods raise ``OSError`` only
    for failures of the cache directory itself (e.g. permission denied on ``root``);
    a bad entry is never an error, only a miss.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"CompressionCache({str(self.root)!r})"

    @property
    def schema_dir(self) -> Path:
        """The directory of this layout's content directories (``root/v1``)."""
        return self.root / _SCHEMA

    def content_dir(self, digest: str) -> Path:
        """Return the directory holding every entry of the content ``digest``."""
        check_digest(digest)
        return self.root / _SCHEMA / digest[:2] / digest

    def lookup(self, digest: str, encoding: Encoding, level: int) -> CachedVariant | NoGain | None:
        """Return the verified entry for the key, a :class:`NoGain` record, or None.

        A stored variant is read in full and its sha384 compared with the one in its
        name; a mismatch deletes the entry and counts as a miss.
        """
        return self.lookup_all(digest, ((encoding, level),))[0][0]

    def lookup_all(
        self, digest: str, keys: Iterable[tuple[Encoding, int]], *, verify: bool = True
    ) -> tuple[list[CachedVariant | NoGain | None], int]:
        """Look up several (encoding, level) keys of one content with one directory read.

        Returns the answers in ``keys`` order (as :meth:`lookup` would) and the number
        of bad entries found and deleted. ``verify=False`` trusts an entry's name and
        only ``stat``s it: for a caller that checks the bytes as it copies them
        (:func:`~corral.compress.place.copy_verified`) and discards a bad entry.
        """
        check_digest(digest)
        directory = os.path.join(self.root, _SCHEMA, digest[:2], digest)
        try:
            names = sorted(os.listdir(directory))
        except FileNotFoundError:
            names = []
        answers: list[CachedVariant | NoGain | None] = []
        discarded = 0
        for encoding, level in keys:
            answer, bad = _lookup(directory, names, encoding, level, verify)
            answers.append(answer)
            discarded += bad
        if any(answer is not None for answer in answers):
            with contextlib.suppress(OSError):  # another user's, or a read-only cache
                os.utime(directory)  # its last use: pruning takes the least recent first
        return answers, discarded

    def discard(self, path: str | os.PathLike[str]) -> None:
        """Delete an entry found bad after :meth:`lookup` returned it (e.g. while
        copying it), so the next lookup misses and the variant is computed again."""
        _discard(os.fspath(path), None)

    def prune(self, keep_digests: AbstractSet[str]) -> PruneStats:
        """Delete every entry of contents not in ``keep_digests``, and stale temp files.

        Also removes directories of older cache layouts. A content another run is
        writing (a fresh temporary file in its directory) is kept.
        """
        contents = files = size = 0
        if not self.root.is_dir():
            return PruneStats(0, 0, 0)
        for entry in os.scandir(self.root):
            old = entry.name != _SCHEMA and re.fullmatch(r"v\d+", entry.name)
            if old and entry.is_dir(follow_symlinks=False):
                removed = remove_tree(Path(entry.path))
                files, size = files + removed[0], size + removed[1]
        schema_dir = self.root / _SCHEMA
        if not schema_dir.is_dir():
            return PruneStats(contents, files, size)
        now = time.time()
        for shard in os.scandir(schema_dir):
            if not shard.is_dir(follow_symlinks=False):
                continue
            for content in os.scandir(shard.path):
                if (
                    content.name in keep_digests or being_written(content.path, now)
                ) and content.is_dir(follow_symlinks=False):
                    removed = _remove_stale_temps(Path(content.path), now)
                else:
                    removed = remove_tree(Path(content.path))
                    contents += 1
                files, size = files + removed[0], size + removed[1]
            with contextlib.suppress(OSError):  # not empty: it holds kept contents
                os.rmdir(shard.path)
        return PruneStats(contents, files, size)

    # -- writing (used by the engine's workers) -------------------------------------

    def prepare(self) -> None:
        """Create ``root`` and its ``CACHEDIR.TAG`` (so backup tools skip it)."""
        tag = self.root / "CACHEDIR.TAG"
        if tag.exists():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        temp = self.new_temp(self.root)
        with open(temp, "w", encoding="ascii") as handle:
            handle.write(_CACHEDIR_TAG)
        os.replace(temp, tag)

    @staticmethod
    def new_temp(directory: Path) -> Path:
        """Create an empty, private-to-this-writer temporary file in ``directory``.

        The file gets the usual umask-derived mode (not ``mkstemp``'s 0600): the
        cache may be shared by the users of a build machine. :meth:`seal` makes it
        read-only before it is renamed into place.
        """
        while True:
            path = directory / f"{_TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(8)}"
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                continue
            os.close(fd)
            return path

    @staticmethod
    def seal(path: str | os.PathLike[str]) -> None:
        """Make a finished entry read-only (``0o444`` less the umask) before publishing it.

        The mode :meth:`new_temp` gave it already has the umask applied (reading the
        umask would mean setting it, which is not thread-safe).
        """
        os.chmod(path, os.stat(path).st_mode & 0o444)

    def variant_path(self, digest: str, encoding: Encoding, level: int, sha384: bytes) -> Path:
        """Return where the variant with the given sha384 of its bytes is stored."""
        name = f"{entry_key(encoding, level)}.{sha384.hex()}{EXTENSIONS[encoding]}"
        return self.content_dir(digest) / name

    def nogain_path(self, digest: str, encoding: Encoding, level: int, size: int) -> Path:
        """Return where the record "this variant was ``size`` bytes, not kept" goes."""
        return self.content_dir(digest) / f"{entry_key(encoding, level)}.{_NOGAIN}{size}"


def _lookup(
    directory: str, names: list[str], encoding: Encoding, level: int, verify: bool = True
) -> tuple[CachedVariant | NoGain | None, int]:
    prefix = entry_key(encoding, level) + "."
    suffix = EXTENSIONS[encoding]
    nogain: NoGain | None = None
    discarded = 0
    for name in names:
        if not name.startswith(prefix):
            continue
        rest = name[len(prefix) :]
        if rest.startswith(_NOGAIN) and rest[len(_NOGAIN) :].isdigit():
            nogain = NoGain(int(rest[len(_NOGAIN) :]))
            continue
        hexdigest = rest.removesuffix(suffix)
        if not rest.endswith(suffix) or not _SHA384_HEX.fullmatch(hexdigest):
            continue
        path = os.path.join(directory, name)
        if not verify:
            try:
                size = os.stat(path).st_size
            except FileNotFoundError:
                continue  # removed by a concurrent run since the listing
            return CachedVariant(Path(path), size, integrity_of(bytes.fromhex(hexdigest))), 0
        found, bad = _verify(path, hexdigest)
        discarded += bad
        if found is not None:
            return found, discarded
    return nogain, discarded


def _verify(path: str, hexdigest: str) -> tuple[CachedVariant | None, bool]:
    """Check an entry; return it if good, and whether a bad one was deleted."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None, False  # removed by a concurrent run since the listing
    except OSError:
        _discard(path, None)
        return None, True
    hasher = hashlib.sha384()
    try:
        seen = os.fstat(fd)
        while chunk := os.read(fd, _CHUNK):
            hasher.update(chunk)
    except OSError:
        seen = None
    finally:
        os.close(fd)
    if seen is None or hasher.hexdigest() != hexdigest:
        _discard(path, seen)
        return None, True
    return CachedVariant(Path(path), seen.st_size, integrity_of(hasher.digest())), False


def _discard(path: str, seen: os.stat_result | None) -> None:
    """Delete a bad entry, unless a writer has just renamed a fresh file over it."""
    try:
        now = os.lstat(path)
        if seen is None or (now.st_dev, now.st_ino) == (seen.st_dev, seen.st_ino):
            os.unlink(path)
    except OSError:
        pass  # gone already, or not deletable: a rewrite will replace it


def remove_tree(directory: Path) -> tuple[int, int]:
    """Delete a directory (never following a symbolic link); return files and bytes."""
    if not directory.is_dir() or directory.is_symlink():
        with contextlib.suppress(FileNotFoundError):
            size = directory.lstat().st_size
            directory.unlink()
            return 1, size
        return 0, 0
    files = size = 0
    for dirpath, dirnames, filenames in os.walk(directory, topdown=False):
        for name in filenames:
            path = os.path.join(dirpath, name)
            try:
                size += os.lstat(path).st_size
                os.unlink(path)
                files += 1
            except FileNotFoundError:
                pass
        for name in dirnames:
            _rmdir(os.path.join(dirpath, name))
    _rmdir(os.fspath(directory))
    return files, size


def being_written(directory: str, now: float) -> bool:
    """Whether a writer is (or was within the hour) writing into a content directory."""
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.name.startswith(_TEMP_PREFIX):
                    with contextlib.suppress(FileNotFoundError):
                        if now - entry.stat(follow_symlinks=False).st_mtime <= STALE_TEMP_SECONDS:
                            return True
    except (FileNotFoundError, NotADirectoryError):
        return False
    return False


def _remove_stale_temps(directory: Path, now: float) -> tuple[int, int]:
    files = size = 0
    for entry in os.scandir(directory):
        if not entry.name.startswith(_TEMP_PREFIX):
            continue
        try:
            stat = entry.stat(follow_symlinks=False)
            if now - stat.st_mtime > STALE_TEMP_SECONDS:
                os.unlink(entry.path)
                files, size = files + 1, size + stat.st_size
        except FileNotFoundError:
            pass
    return files, size


def _rmdir(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.rmdir(path)
