"""The fingerprint stage, as a run calls it: hashed names for the release (see
:mod:`corral.hashing`, which feeds :mod:`corral.fingerprint`), and what the report shows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from corral.build.plan import Inputs
from corral.build.stage import Staging
from corral.hashing import Hashed, hash_stage, located
from corral.precompress import compression_key

if TYPE_CHECKING:
    from corral.report import Report
    from corral.workers import WorkerPool

__all__ = ["fingerprint_release", "report_fingerprints"]


def fingerprint_release(
    inputs: Inputs, staging: Staging, *, sources_changed: bool, pool: WorkerPool | None
) -> Hashed:
    """Fingerprint every file (or, when nothing changed, reuse the last run's names).

    The records are reused even then when the compression options changed (turned on,
    off, other levels): the manifests list other variants, so they are made again.
    """
    config, target = inputs.config, inputs.target
    compression = compression_key(config.compression_options()) if config.compress else ""
    with inputs.clock("fingerprint"):
        return hash_stage(
            inputs.config,
            inputs.loadpath,
            inputs.state,
            inputs.intact,
            staging.digests,
            staging.read,
            target=inputs.target,
            sources_changed=sources_changed,
            pool=pool,
            remake_manifests=target is not None and compression != inputs.state.compression,
        )


def report_fingerprints(report: Report, hashed: Hashed | None, inputs: Inputs) -> None:
    """What the report shows of the files fingerprinted this run."""
    result = hashed.result if hashed is not None else None
    if result is None:
        return
    report.fingerprinted = result.processed
    report.rewrites = [(r.logical, r.line, r.column, r.old, r.new) for r in result.rewrites]
    report.cycles = [list(c) for c in result.cycles]
    report.warnings.extend(located(w, inputs.loadpath) for w in result.warnings)
