"""Keeping the shared cache bounded: what it holds, and pruning it by last use.

``corral cache info`` and ``corral cache prune --max-size SIZE --older-than AGE``
(and the ``cache_max_size`` setting, applied after a run that added entries) call
:func:`cache_info` and :func:`prune_cache`. The unit of pruning is one content: all
its variants go together, least recently used first (the content directory's
mtime is touched by every lookup that finds something, see
:meth:`~corral.compress.cache.CompressionCache.lookup_all`). A content that another
process is writing is never removed, and a run that finds an entry gone treats it
as a miss, so pruning is safe while other runs use the cache.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from corral.compress.cache import (
    CompressionCache,
    PruneStats,
    being_written,
    remove_tree,
)

__all__ = ["CacheInfo", "cache_info", "prune_cache"]


@dataclass(frozen=True, slots=True)
class CacheInfo:
    """What a cache holds: contents (each with its variants), files, bytes on disk.

    ``bytes`` counts every entry in full, also those a target links (a hard link is
    one file with several names): ``linked_bytes`` is the part of it that has other
    names too, space that pruning frees only once those targets drop their links.
    """

    root: str
    contents: int
    files: int
    bytes: int
    oldest_use: float | None  # POSIX time of the least recently used content
    newest_use: float | None
    linked_bytes: int = 0

    def to_dict(self) -> dict[str, object]:
        return {
            "root": self.root,
            "contents": self.contents,
            "files": self.files,
            "bytes": self.bytes,
            "oldest_use": self.oldest_use,
            "newest_use": self.newest_use,
            "linked_bytes": self.linked_bytes,
        }


@dataclass(frozen=True, slots=True)
class _Content:
    path: str
    used: float
    files: int
    bytes: int
    linked: int  # bytes of its entries that also have names outside the cache


def _contents(cache: CompressionCache) -> list[_Content]:
    found: list[_Content] = []
    schema = cache.schema_dir
    try:
        shards = list(os.scandir(schema))
    except (FileNotFoundError, NotADirectoryError):
        return found
    for shard in shards:
        if not shard.is_dir(follow_symlinks=False):
            continue
        try:
            contents = list(os.scandir(shard.path))
        except FileNotFoundError:
            continue
        for content in contents:
            try:
                if not content.is_dir(follow_symlinks=False):
                    continue
                used = content.stat(follow_symlinks=False).st_mtime
                files = size = linked = 0
                with os.scandir(content.path) as entries:
                    for entry in entries:
                        st = entry.stat(follow_symlinks=False)
                        files += 1
                        size += st.st_size
                        linked += st.st_size if st.st_nlink > 1 else 0
            except FileNotFoundError:
                continue  # removed by another process meanwhile
            found.append(_Content(content.path, used, files, size, linked))
    return found


def cache_info(cache: CompressionCache) -> CacheInfo:
    """Count what ``cache`` holds (one directory walk; nothing is read or changed)."""
    contents = _contents(cache)
    uses = [c.used for c in contents]
    return CacheInfo(
        root=str(cache.root),
        contents=len(contents),
        files=sum(c.files for c in contents),
        bytes=sum(c.bytes for c in contents),
        oldest_use=min(uses) if uses else None,
        newest_use=max(uses) if uses else None,
        linked_bytes=sum(c.linked for c in contents),
    )


def prune_cache(
    cache: CompressionCache,
    *,
    max_size: int | None = None,
    older_than: float | None = None,
    now: float | None = None,
    dry_run: bool = False,
) -> PruneStats:
    """Remove contents unused for ``older_than`` seconds, then the least recently used
    until the cache holds at most ``max_size`` bytes. Contents being written stay."""
    now = time.time() if now is None else now
    contents = sorted(_contents(cache), key=lambda c: (c.used, c.path))
    total = sum(c.bytes for c in contents)
    removed_contents = removed_files = removed_bytes = 0
    for content in contents:
        too_old = older_than is not None and now - content.used > older_than
        too_big = max_size is not None and total > max_size
        if not (too_old or too_big):
            if older_than is None:
                break  # sorted by last use: the rest are newer, and the size fits
            continue
        if being_written(content.path, now):
            continue
        if dry_run:
            files, size = content.files, content.bytes
        else:
            files, size = remove_tree(Path(content.path))
            parent = os.path.dirname(content.path)
            with contextlib.suppress(OSError):
                os.rmdir(parent)  # the shard, once empty
        removed_contents += 1
        removed_files += files
        removed_bytes += size
        total -= content.bytes
    return PruneStats(removed_contents, removed_files, removed_bytes)
