"""The record stage: the new release's record and the state a run leaves."""

from __future__ import annotations

import time

from corral.build.plan import Run
from corral.loadpath import LoadPath
from corral.report import Report
from corral.state import Release, SourceRecord, State, StateDir

__all__ = ["record_run", "retire"]


def record_run(
    state_dir: StateDir,
    state: State,
    loadpath: LoadPath,
    run: Run,
    report: Report,
    *,
    scanned_ns: int,
) -> bool:
    """Record the run in ``state`` (and a new release's record); return whether the
    state must be saved."""
    staged_any = bool(
        run.staged or run.compressed or (run.hashed and (run.hashed.staged or run.hashed.manifests))
    )
    if not (run.publish or staged_any or report.repaired or run.refresh):
        return False
    hashed = run.hashed
    if run.publish:
        assert run.release_id is not None
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        files = dict(run.digests)
        files.update(run.variant_files)
        if hashed is not None:
            files.update(hashed.files)
            if hashed.manifest is not None:
                state_dir.save_release_manifest(run.release_id, hashed.manifest)
        state_dir.save_release(Release(run.release_id, created, files))
        state.retired = retire(state, files)
        state.release = run.release_id
        report.published = True
    report.release = state.release
    new, digests = tuple.__new__, run.digests  # see State.from_json
    state.sources = {
        logical: new(SourceRecord, (found.path, found.identity, digests[logical]))
        for logical, found in loadpath.files.items()
    }
    state.scanned_ns = scanned_ns
    if run.quiet:
        return True  # only the sources' records changed (files that can now be trusted)
    state.variants = run.variants
    state.compression = run.compression
    state.hashing = hashed.options_key if hashed is not None else ""
    if hashed is None:
        state.fingerprints = {}
    elif hashed.fingerprints:
        # A record reused from the last run is stored as it was read; only the files
        # fingerprinted this run are encoded again.
        old = state.fingerprints
        redone = set(hashed.result.processed) if hashed.result is not None else set(old)
        state.fingerprints = {
            k: old[k] if k in old and k not in redone else fp.to_json()
            for k, fp in hashed.fingerprints.items()
        }
    return True


def retire(state: State, listed: dict[str, str]) -> dict[str, int] | None:
    """``state.retired`` once a new release listing ``listed`` is current.

    A target the last release listed and this one does not was last listed by the last
    release; one the table already knew keeps its entry. Called before ``state.release``
    moves on, with ``state.targets`` holding every file the new release placed.
    """
    old, last = state.retired, state.release
    if old is None:
        return None
    return {p: old.get(p, last or 0) for p in state.targets if p not in listed}
