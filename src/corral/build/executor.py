"""Worker processes for a run with much to do (see :mod:`corral.workers`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

from corral.build.plan import Inputs
from corral.digest import WHOLE_READ_LIMIT
from corral.fork import usable
from corral.loadpath import SourceFile

if TYPE_CHECKING:
    from corral.workers import WorkerPool

__all__ = ["worker_pool"]


def worker_pool(inputs: Inputs, to_read: list[tuple[SourceFile, str]]) -> WorkerPool | None:
    """Start worker processes when there is enough for them: the files of a first run into
    an empty root to stage (and, when fingerprinting, to scan while they are held), the
    other text files whose content the state does not vouch for to scan; and a second
    core."""
    if not to_read or (os.cpu_count() or 1) < 2:
        return None  # a no-change run imports neither the tokenizers nor the pool
    from corral.workers import MIN_SCAN_BYTES, MIN_STAGE_FILES, WorkerPool  # noqa: PLC0415

    config, target = inputs.config, inputs.target
    stage: list[SourceFile] = []
    if target is not None and target.writes_directly and not config.link:
        stage = [f for f, why in to_read if why == "new" and f.size <= WHOLE_READ_LIMIT]
    stage_too = bool(stage) and len(stage) >= MIN_STAGE_FILES
    if not stage_too:
        stage = []
    scan: list[tuple[str, str, int]] = []
    if config.hash:
        from corral.fingerprint.scan import scannable  # noqa: PLC0415

        staged_here = {f.logical for f in stage}  # scanned by the task that stages them
        scan = [
            (f.logical, f.path, f.size)
            for f, why in to_read
            if why != "repair" and scannable(f.logical) and f.logical not in staged_here
        ]
    scan_too = bool(scan) and sum(size for _, _, size in scan) >= MIN_SCAN_BYTES
    if not (stage_too or scan_too) or not usable():
        return None
    options = config.fingerprint_options() if config.hash else None
    pool = WorkerPool(inputs.loadpath.files.keys(), options)
    if stage_too:
        assert target is not None
        # Largest first, so no big file is left for the end.
        stage.sort(key=lambda f: -f.size)
        by_logical = {f.logical: f for f in stage}

        def jobs() -> Iterator[tuple[str, str, str, int]]:
            # Made as the pool takes them: the workers start staging the first files
            # while the target makes the places of the rest.
            for logical, place in target.direct_places(f.logical for f in stage):
                found = by_logical[logical]
                yield logical, found.path, place, found.size

        pool.stage(jobs(), sri=config.integrity if config.hash else None, mode=config.file_mode)
    if scan_too:
        pool.scan(scan)
    return pool
