"""The compression stage, as a run calls it: the variants of the release (see
:mod:`corral.precompress`), or the last run's when nothing they depend on changed."""

from __future__ import annotations

from typing import Any, NamedTuple

from corral.build.plan import Inputs
from corral.build.stage import Staging
from corral.hashing import Hashed
from corral.precompress import (
    Content,
    all_files_raw,
    compress_stage,
    compression_key,
    nothing_to_do,
)
from corral.targets.base import Staged, Target

__all__ = ["NO_VARIANTS", "Variants", "compress_release"]


class Variants(NamedTuple):
    """The variants of a release and what making them took."""

    table: dict[str, Any]  # file -> encoding -> [path, size, sri]
    files: dict[str, str]  # variant path -> integrity
    staged: list[Staged]
    key: str  # the compression options in force (compression_key); "" when off
    computed: int = 0  # variants compressed this run
    cache_hits: int = 0


#: A run that does not compress (or a dry run, which never does).
NO_VARIANTS = Variants({}, {}, [], "")


def compress_release(
    inputs: Inputs, staging: Staging, hashed: Hashed | None, *, sources_changed: bool
) -> Variants:
    """Compress every file of the release that needs it (from the shared cache first);
    when nothing changed and every variant is in place, the last run's stand."""
    config, state, target = inputs.config, inputs.state, inputs.target
    if not config.compress or target is None:
        return NO_VARIANTS
    options = config.compression_options()
    key = compression_key(options)
    fingerprinted = hashed is not None and hashed.result is not None
    if (
        not fingerprinted
        and key == state.compression
        and not sources_changed
        and not staging.repaired
        and not staging.staged
        and state.variants
        and nothing_to_do(state, inputs.intact)
    ):
        return Variants(state.variants, all_files_raw(state.variants), [], key)
    with inputs.clock("compress"):
        compressed = compress_stage(
            options,
            release_contents(inputs, staging, hashed, target),
            state,
            inputs.intact,
            target=target,
            cache_dir=config.compression_cache_dir(),
            workers=config.jobs,
            progress=inputs.progress,
        )
    return Variants(
        compressed.variants,
        compressed.files,
        compressed.staged,
        key,
        compressed.computed,
        compressed.cache_hits,
    )


def release_contents(
    inputs: Inputs, staging: Staging, hashed: Hashed | None, target: Target
) -> dict[str, Content]:
    """Every file of the release (originals and hashed copies) and where to read it now."""
    loadpath = inputs.loadpath
    staged = {s.relpath: s.tmp for s in staging.staged}
    contents = {
        logical: Content(staging.digests[logical], staged.get(logical, found.path), found.size)
        for logical, found in loadpath.files.items()
    }
    if hashed is not None:
        staged_hashed = {s.relpath: s.tmp for s in hashed.staged}
        for logical, fp in hashed.fingerprints.items():
            if fp.hashed == logical:
                continue
            where = staged_hashed.get(fp.hashed)
            if where is None:
                where = target.path_of(fp.hashed) if fp.rewritten else loadpath.files[logical].path
            contents[fp.hashed] = Content(fp.sha256, where, fp.size)
    return contents
