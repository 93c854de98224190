"""``corral compress DIR``: precompress a tree that another tool built.

Every file under ``DIR`` (dot-files and dot-directories aside, and existing
``.gz``/``.br``/``.zst`` files, which are variants, not inputs) gets its
variants next to it, made by the same engine and shared cache as ``corral
collect`` (see :mod:`corral.compress.location`). A variant is a verified private
copy of its cache entry (:func:`corral.compress.place.copy_verified`), written
under a temporary name in its directory and renamed into place, so a web server
never sees a partial one; a variant already holding the right bytes is left
untouched, so a re-run writes nothing. ``cache_dir=None`` compresses without the
shared cache (into a temporary directory removed afterwards).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from corral.compress.cache import integrity_of
from corral.compress.place import copy_verified
from corral.digest import file_sha256
from corral.errors import BuildError, Problem, TargetError

if TYPE_CHECKING:
    from corral.compress import CompressionOptions

__all__ = ["TreeReport", "compress_tree"]

_VARIANT_SUFFIXES = (".gz", ".br", ".zst")
_RETRIES = 2


@dataclass(slots=True)
class TreeReport:
    """What ``compress_tree`` did."""

    root: str
    files: int = 0
    written: list[str] = field(default_factory=list)
    unchanged: int = 0
    computed: int = 0
    cache_hits: int = 0

    def to_dict(self) -> dict[str, object]:
        return {
            "root": self.root,
            "files": self.files,
            "written": self.written,
            "unchanged": self.unchanged,
            "computed": self.computed,
            "cache_hits": self.cache_hits,
        }


def compress_tree(
    root: Path,
    options: CompressionOptions,
    *,
    cache_dir: Path | None = None,
    workers: int | None = None,
    dry_run: bool = False,
) -> TreeReport:
    """Write the variants of every file under ``root`` that gains from compression."""
    from corral.compress import (  # noqa: PLC0415 - heavy, used by this command only
        CompressionCache,
        CompressJob,
        compress_many,
    )
    from corral.compress.encoders import EXTENSIONS  # noqa: PLC0415
    from corral.compress.location import variants_dir  # noqa: PLC0415
    from corral.compress.place import StaleEntry  # noqa: PLC0415

    if not root.is_dir():
        raise TargetError(f"{root} is not a directory", path=str(root), hint="pass a directory")
    report = TreeReport(root=str(root))
    files = _files(root)
    report.files = len(files)
    jobs: list[CompressJob] = []
    problems: list[Problem] = []
    wanted: list[tuple[str, str]] = []  # (relpath, digest)
    for relpath in files:
        path = root / relpath
        try:
            size = path.stat().st_size
        except OSError as exc:
            problems.append(_stat_problem(path, exc))
            continue
        if options.skip_reason(relpath, size) is not None:
            continue
        try:
            digest = file_sha256(path)
        except OSError as exc:
            problems.append(
                Problem("unreadable", f"can't read this file: {exc.strerror}", path=str(path))
            )
            continue
        jobs.append(CompressJob(digest, path, size, relpath))
        wanted.append((relpath, digest))
    if problems:
        raise BuildError(problems)
    if dry_run:
        return report
    with tempfile.TemporaryDirectory(prefix="corral-nocache-") as private:
        cache = CompressionCache(variants_dir(cache_dir) if cache_dir else private)
        for attempt in range(_RETRIES + 1):
            run = compress_many(jobs, options, cache, workers=workers, verify=False)
            report.computed += run.computed
            report.cache_hits += run.cache_hits
            by_digest = {result.job.digest: result for result in run}
            stale: set[str] = set()
            for relpath, digest in wanted:
                if digest not in by_digest or digest in stale:
                    continue
                for variant in by_digest[digest].variants:
                    target = root / (relpath + EXTENSIONS[variant.encoding])
                    if _same(target, variant.size, variant.integrity):
                        report.unchanged += 1
                        continue
                    try:
                        _place(variant.path, target, variant.integrity)
                    except StaleEntry:
                        if attempt == _RETRIES:
                            raise
                        cache.discard(variant.path)
                        stale.add(digest)
                        break
                    report.written.append(target.relative_to(root).as_posix())
            if not stale:
                break
            jobs = [job for job in jobs if job.digest in stale]
    return report


def _files(root: Path) -> list[str]:
    found: list[str] = []
    for dirpath, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        rel = os.path.relpath(dirpath, root)
        for name in sorted(names):
            if name.startswith(".") or name.endswith(_VARIANT_SUFFIXES):
                continue
            found.append(name if rel == "." else f"{rel}/{name}".replace(os.sep, "/"))
    return found


def _same(target: Path, size: int, integrity: str) -> bool:
    try:
        if target.is_symlink() or target.stat().st_size != size:
            return False
        with target.open("rb") as handle:
            return integrity_of(hashlib.file_digest(handle, "sha384").digest()) == integrity
    except OSError:
        return False


def _place(entry: Path, target: Path, integrity: str) -> None:
    tmp = target.with_name(f".{target.name}.corral-{os.getpid()}.tmp")
    try:
        tmp.unlink(missing_ok=True)
        copy_verified(str(entry), str(tmp), integrity)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise TargetError(
            f"can't write {target}: {exc.strerror or exc}",
            path=str(target),
            hint="check the directory's permissions and free space",
        ) from exc


def _stat_problem(path: Path, exc: OSError) -> Problem:
    if path.is_symlink():
        return Problem(
            "broken-symlink",
            f"broken symbolic link (points to {os.readlink(path)!r}, which does not exist)",
            path=str(path),
            hint="fix or remove the link",
        )
    return Problem("unreadable", f"can't read this file: {exc.strerror or exc}", path=str(path))
