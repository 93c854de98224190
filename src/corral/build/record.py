"""The record stage: the new release's record and the state a run leaves."""

from __future__ import annotations

import time

from corral.build.derive import Derived
from corral.build.plan import Inputs
from corral.build.stage import Staging
from corral.state import Release, SourceRecord, SourceTable, State

__all__ = ["record_run", "retire"]


def record_run(inputs: Inputs, staging: Staging, derived: Derived, *, staged_any: bool) -> bool:
    """Record the run in the state (and a new release's record, in the target's state
    store); return whether the state must be saved. ``staged_any``: the run wrote files
    (see :func:`~corral.build.publish.staged_anything`)."""
    state, hashed, variants = inputs.state, derived.hashed, derived.variants
    refresh = staging.refresh or derived.refresh
    if not (derived.publish or staged_any or staging.repaired or refresh):
        return False
    if derived.publish:
        assert derived.release_id is not None and inputs.target is not None
        store = inputs.target.state
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        files = dict(staging.digests)
        files.update(variants.files)
        if hashed is not None:
            files.update(hashed.files)
            if hashed.manifest is not None:
                store.save_release_manifest(derived.release_id, hashed.manifest)
        store.save_release(Release(derived.release_id, created, files))
        state.retired = retire(state, files)
        state.release = derived.release_id
    new, digests = tuple.__new__, staging.digests  # see State.from_json
    state.sources = sources = SourceTable()
    for logical, found in inputs.loadpath.files.items():
        sources[logical] = new(SourceRecord, (found.path, found.identity, digests[logical]))
    state.scanned_ns = inputs.scanned_ns
    if derived.quiet:
        return True  # only the sources' records changed (files that can now be trusted)
    state.variants = variants.table
    state.compression = variants.key
    state.hashing = hashed.options_key if hashed is not None else ""
    if hashed is None:
        state.fingerprints = {}
    elif hashed.fingerprints:
        # A record reused from the last run is stored as it was read; the files
        # fingerprinted this run are encoded as the state is written, a chunk at a time
        # (as JSON the large corpus's 54,570 records take 17 MiB more than as records).
        old = state.fingerprints
        redone = set(hashed.result.processed) if hashed.result is not None else set(old)
        state.fingerprints = {
            k: old[k] if k in old and k not in redone else fp
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
