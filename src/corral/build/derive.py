"""The derived files of a release (fingerprints, variants, manifests), and whether the
run publishes a new release at all."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from corral.build.compress import (
    NO_VARIANTS,
    Variants,
    compress_release,
    compression_key,
)
from corral.build.fingerprint import Hashed, fingerprint_key, fingerprint_release
from corral.build.manifests import make_manifests, manifest_encodings
from corral.build.plan import Inputs
from corral.build.stage import Staging

if TYPE_CHECKING:
    from corral.workers import WorkerPool

__all__ = ["Derived", "derive_release", "release_stands"]


class Derived(NamedTuple):
    """What the run derives and decides."""

    quiet: bool  # the last release stands as it is: nothing was derived
    hashed: Hashed | None  # the fingerprint stage's outcome (when fingerprinting)
    variants: Variants
    publish: bool  # this run makes a new release
    release_id: int | None  # the release the run leaves current
    refresh: bool  # the options changed: the state must be rewritten


def derive_release(
    inputs: Inputs, staging: Staging, removed: list[str], pool: WorkerPool | None = None
) -> Derived:
    """Fingerprint and compress (as configured), decide the release, make the manifests."""
    config, state, target = inputs.config, inputs.state, inputs.target
    sources_changed = bool(staging.new or staging.changed or removed)
    if release_stands(inputs, staging, sources_changed):
        return Derived(True, None, NO_VARIANTS, False, state.release, False)
    ids = target.state.release_ids() if target is not None else []
    next_release = max([*ids, state.release or 0]) + 1
    hashed = None
    if config.hash:
        hashed = fingerprint_release(inputs, staging, sources_changed=sources_changed, pool=pool)
        # The full digests of the files read went into the records: the rest can go.
        staging.read.clear()
    variants = compress_release(inputs, staging, hashed, sources_changed=sources_changed)
    refresh = (hashed is not None and hashed.options_key != state.hashing) or (
        variants.key != state.compression  # remember the options, even if the output did not change
    )
    publish = (
        sources_changed
        or state.release is None
        or (hashed is not None and hashed.changed)
        or (hashed is None and bool(state.fingerprints))  # hashing was just turned off
        or (target is not None and variants.table != state.variants)
    )
    release_id = next_release if publish else state.release
    if hashed is not None and hashed.result is not None:
        assert release_id is not None
        encodings = manifest_encodings(
            variants.table, {k: fp.hashed for k, fp in hashed.fingerprints.items()}
        )
        made = make_manifests(
            inputs, hashed.fingerprints, release=release_id, encodings=encodings, keep=publish
        )
        hashed = hashed.with_manifests(made)
    return Derived(False, hashed, variants, publish, release_id, refresh)


def release_stands(inputs: Inputs, staging: Staging, sources_changed: bool) -> bool:
    """Whether the last release stands as it is: the same sources, all trusted and in
    place, the same fingerprinting and compression options, and every file corral owns
    still exactly as written (so every hashed copy, variant and manifest).

    Such a run needs none of the fingerprints and variants, and never reads them.
    """
    config, state = inputs.config, inputs.state
    if sources_changed or staging.repaired or staging.staged or state.release is None:
        return False
    if len(inputs.intact) != len(state.targets):  # intact is a subset of the targets
        return False
    hashing = fingerprint_key(config) if config.hash else ""
    if hashing != state.hashing:
        return False
    compression = compression_key(config.compression_options()) if config.compress else ""
    return compression == state.compression
