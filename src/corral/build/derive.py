"""The fingerprint and compression stages: the derived files of a release, and whether
the run publishes a new one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from corral.build.clock import Clock
from corral.build.plan import Run
from corral.config import Config
from corral.hashing import Hashed, hash_stage, located, manifest_stage
from corral.hashing import options_key as fingerprint_options_key
from corral.loadpath import LoadPath
from corral.precompress import (
    Content,
    all_files_raw,
    compress_stage,
    manifest_encodings,
    nothing_to_do,
    options_key,
)
from corral.publish import LocalTarget
from corral.report import Progress, Report
from corral.state import State

if TYPE_CHECKING:
    from corral.workers import WorkerPool

__all__ = ["derive_release", "release_stands"]


def derive_release(
    config: Config,
    loadpath: LoadPath,
    state: State,
    intact: set[str],
    run: Run,
    report: Report,
    *,
    clock: Clock,
    progress: Progress | None,
    target: LocalTarget | None,
    pool: WorkerPool | None = None,
) -> None:
    """Fingerprint and compress (as configured), decide the release, make the manifests."""
    sources_changed = bool(report.new or report.changed or report.removed)
    if release_stands(config, state, intact, run, report, sources_changed):
        run.quiet = True  # the last release stands as it is: nothing to derive
        run.release_id = state.release
        return
    next_release = max([*target_ids(target, state), state.release or 0]) + 1
    hashed = None
    if config.hash:
        with clock("fingerprint"):
            hashed = run.hashed = hash_stage(
                config,
                loadpath,
                state,
                intact,
                run.digests,
                run.read_digests,
                target=target,
                sources_changed=sources_changed,
                pool=pool,
            )
        result = hashed.result
        if result is not None:
            report.fingerprinted = result.processed
            report.rewrites = [(r.logical, r.line, r.column, r.old, r.new) for r in result.rewrites]
            report.cycles = [list(c) for c in result.cycles]
            report.warnings.extend(located(w, loadpath) for w in result.warnings)

    quiet = hashed is None or hashed.result is None  # nothing new was fingerprinted
    if config.compress and target is not None:
        options = config.compression_options()
        run.compression = options_key(options)
        same_options = run.compression == state.compression
        if (
            quiet
            and same_options
            and not sources_changed
            and not report.repaired
            and not run.staged
            and state.variants
            and nothing_to_do(state, intact)
        ):
            run.variant_files = all_files_raw(state.variants)
            run.variants = state.variants
        else:
            with clock("compress"):
                compressed = compress_stage(
                    options,
                    release_contents(loadpath, run, hashed, target),
                    state,
                    intact,
                    target=target,
                    cache_dir=config.compression_cache_dir(),
                    workers=config.jobs,
                    progress=progress,
                )
            run.cache_grew = compressed.computed > 0
            run.compressed = compressed.staged
            run.variant_files = compressed.files
            run.variants = compressed.variants
            report.compressed = compressed.computed
            report.compress_cache_hits = compressed.cache_hits

    if hashed is not None and hashed.options_key != state.hashing:
        run.refresh = True  # remember the options, even if the output did not change
    if run.compression != state.compression:
        run.refresh = True
    run.publish = (
        sources_changed
        or state.release is None
        or (hashed is not None and hashed.changed)
        or (hashed is None and bool(state.fingerprints))  # hashing was just turned off
        or (target is not None and run.variants != state.variants)
    )
    run.release_id = next_release if run.publish else state.release
    if hashed is not None and hashed.result is not None:
        assert run.release_id is not None
        manifest_stage(
            config,
            hashed,
            state,
            intact,
            target=target,
            release=run.release_id,
            encodings=manifest_encodings(
                run.variants, {k: fp.hashed for k, fp in hashed.fingerprints.items()}
            ),
        )


def release_stands(
    config: Config,
    state: State,
    intact: set[str],
    run: Run,
    report: Report,
    sources_changed: bool,
) -> bool:
    """Whether the last release stands as it is: the same sources, all trusted and in
    place, the same fingerprinting and compression options, and every file corral owns
    still exactly as written (so every hashed copy, variant and manifest).

    Such a run needs none of the fingerprints and variants, and never reads them.
    """
    if sources_changed or report.repaired or run.staged or state.release is None:
        return False
    if len(intact) != len(state.targets):  # intact is a subset of the targets
        return False
    hashing = fingerprint_options_key(config) if config.hash else ""
    if hashing != state.hashing:
        return False
    compression = options_key(config.compression_options()) if config.compress else ""
    return compression == state.compression


def release_contents(
    loadpath: LoadPath, run: Run, hashed: Hashed | None, target: LocalTarget
) -> dict[str, Content]:
    """Every file of the release (originals and hashed copies) and where to read it now."""
    staged = {s.relpath: s.tmp for s in run.staged}
    contents = {
        logical: Content(run.digests[logical], staged.get(logical, found.path), found.size)
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


def target_ids(target: LocalTarget | None, state: State) -> list[int]:
    return target.state_dir.release_ids() if target is not None else []
