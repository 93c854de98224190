"""The assembler: ``collect`` and ``clean`` wire the stages; each stage is a module here.

``collect`` runs scan → plan → stage → fingerprint → compress → publish → record →
prune against a :class:`~corral.targets.base.Target` (today always a
:class:`~corral.targets.local.LocalTarget`); ``clean`` runs prune alone. Stages take
values and return values (:class:`~corral.build.plan.Inputs` in, a named tuple out);
only the report and the state, which a run exists to fill, are written here.

================  ==============================================================
``scan.py``       the sources, resolved and scanned; problems before anything is written
``recovery.py``   the state as a run finds it (rebuilt from release records)
``intact.py``     which published files are still exactly as written
``plan.py``       what each source file needs: trusted, or read (and why)
``executor.py``   worker processes for a first run and big scans
``stage.py``      reading, digesting and staging the files to write
``fingerprint.py``  hashed names and rewritten references
``compress.py``   the variants (gzip, brotli, zstd)
``manifests.py``  both manifests: names, reserved paths, made and staged
``derive.py``     both of those, the manifests, and whether a new release is made
``publish.py``    everything staged into place, manifests last
``record.py``     the release record and the state a run leaves
``prune.py``      the one retention rule: which releases and files go
``clock.py``      the timings a report shows per stage
================  ==============================================================
"""

from __future__ import annotations

import time
from collections.abc import Set
from dataclasses import replace
from functools import partial

from corral.build.clock import Clock
from corral.build.compress import tidy_cache
from corral.build.derive import derive_release
from corral.build.executor import worker_pool
from corral.build.fingerprint import report_fingerprints
from corral.build.intact import inspect, inspect_later
from corral.build.plan import Inputs, triage
from corral.build.prune import PruneOutcome, forget, prune_and_save, prune_files, prune_selection
from corral.build.publish import Decided, forget_staged, publish_staged, staged_anything
from corral.build.record import record_run
from corral.build.recovery import load_state
from corral.build.scan import NO_SOURCES, load_sources, scan_sources
from corral.build.sink import ReleaseSink
from corral.build.stage import stage_files
from corral.config import Config
from corral.errors import BuildError
from corral.gcpause import gc_paused
from corral.loadpath import LoadPath
from corral.records import TargetTable
from corral.report import CleanReport, Progress, Report
from corral.retention import planned_prune, planned_release
from corral.sources import resolve_sources
from corral.state import State
from corral.targets.base import Target
from corral.targets.local import LocalTarget
from corral.targets.localroot import guard_root

__all__ = ["clean", "collect", "guard_root", "load_sources"]


@gc_paused()
def collect(  # noqa: PLR0913 - the public signature: one keyword per CLI flag
    config: Config,
    *,
    dry_run: bool = False,
    clear: bool = False,
    force: bool = False,
    wait: float = 0.0,
    progress: Progress | None = None,
    sink: ReleaseSink | None = None,
) -> Report:
    """Collect every source file into ``config.root`` as a new release.

    Nothing is published unless every file was staged without a problem; a problem
    raises :class:`~corral.errors.BuildError` listing all of them. With ``dry_run``
    the returned report is the plan and nothing is written. ``clear`` prunes every
    file not in the new release once it is complete (``force``: files corral did
    not write too).

    With ``config.compress_after`` (``compress = "after"``) a run that changes files
    publishes twice: first the release without variants (its manifest lists no
    encodings, so servers send every file as it is), then the same files with their
    variants as a follow-up release. Each publish is complete on its own, so a run
    stopped between them leaves the first release, and the next run compresses.
    The report is the first run's, with the follow-up's release, compression counts
    and timings (``early_release`` names the first).

    ``sink`` receives each hashed name and variant as soon as its bytes are final (see
    :mod:`corral.build.sink`): a remote publish uploads them while the build compresses.
    """
    once = partial(_collect_once, force=force, wait=wait, progress=progress, sink=sink)
    if dry_run or not (config.compress and config.compress_after):
        return once(config, dry_run=dry_run, clear=clear)
    plan = once(config, dry_run=True, clear=False)
    if not (plan.new or plan.changed or plan.removed or plan.repaired):
        return once(config, clear=clear)  # nothing to hurry: one run, as without "after"
    first = once(replace(config, compress=False), clear=False)
    second = once(replace(config, compress_after=False), clear=clear)
    first.early_release, first.release = first.release, second.release
    first.published |= second.published
    first.state_written |= second.state_written
    first.compressed, first.compress_cache_hits = second.compressed, second.compress_cache_hits
    first.pruned += second.pruned
    for mine, theirs in ((first.timings, second.timings), (first.cpu_timings, second.cpu_timings)):
        for phase, seconds in theirs.items():
            mine[phase] = mine.get(phase, 0.0) + seconds
    return first


def _collect_once(  # noqa: PLR0913 - collect's own keywords
    config: Config,
    *,
    dry_run: bool = False,
    clear: bool = False,
    force: bool = False,
    wait: float = 0.0,
    progress: Progress | None = None,
    sink: ReleaseSink | None = None,
) -> Report:
    """One run of :func:`collect`: at most one release published."""
    report = Report(root=str(config.root), dry_run=dry_run)
    clock = Clock(report)
    target = LocalTarget.for_config(config)
    scanned_ns = time.time_ns()
    if not config.sources:
        raise BuildError([NO_SOURCES])
    resolved, problems = resolve_sources(config.sources, config.origin)
    target.usable(resolved, force=force)

    def scanned() -> LoadPath:
        loadpath = scan_sources(config, resolved, problems, clear=clear)
        report.conflicts = loadpath.conflicts
        return loadpath

    def inputs(loadpath: LoadPath, state: State, intact: Set[str], staging: bool) -> Inputs:
        return Inputs(
            config=config,
            loadpath=loadpath,
            state=state,
            intact=intact,
            target=target if staging else None,
            scanned_ns=scanned_ns,
            clock=clock,
            progress=progress,
            sink=sink if staging else None,
        )

    owned = target.state.owned()
    if dry_run or not owned:
        # Nothing exists yet (or nothing may be written): scan first, so that bad input
        # leaves no trace at all.
        with clock("scan"):
            loadpath = scanned()
    if dry_run:
        state, intact = inspect(target, config.link) if owned else (State(), set())
        _plan_dry(report, target, inputs(loadpath, state, intact, False), clear=clear, force=force)
        return report

    with target.locked(wait=wait) as moved:
        if moved is not None:  # an older corral's layout
            report.warnings.append(moved)
        with target.writing(force=force):
            with clock("scan"):
                # The published files are checked in a forked process while this one scans
                # the sources (threads would not do: both are many tiny system calls, and two
                # threads passing the GIL back and forth made them slower, not faster).
                state, intact_later = inspect_later(target, config.link)
                try:
                    if owned:
                        loadpath = scanned()
                finally:
                    intact = intact_later()
            run = inputs(loadpath, state, intact, True)
            try:
                decided = _decide(report, run)
                if run.sink is not None:
                    with clock("settle"):  # the sink may still read staged files
                        run.sink.settle()
                with clock("publish"):
                    _publish(report, target, state, decided, force=force)
            except BaseException:
                target.discard_staged()
                raise
            staged_any = staged_anything(decided)
            decided = forget_staged(decided)  # all in place: the staging records can go
            _record_and_prune(report, run, decided, staged_any, clear=clear, force=force)
    return report


def _publish(
    report: Report, target: Target, state: State, decided: Decided, *, force: bool
) -> None:
    """Put everything staged into place, and the state's records of it in the state."""
    placed = publish_staged(target, state.targets, decided, force=force)
    for relpath in placed.removed:
        state.targets.pop(relpath, None)
    if not state.targets and isinstance(placed.records, TargetTable):
        state.targets = placed.records  # a first run: no copy of 417,596 records
    else:
        state.targets.update(placed.records)
    report.files_linked = target.linked


def _decide(report: Report, inputs: Inputs) -> Decided:
    """Plan every file, stage what must be written, then fingerprint and compress."""
    clock, state = inputs.clock, inputs.state
    report.release = state.release
    with clock("plan"):
        plan = triage(inputs)
    report.removed = plan.removed
    report.warnings.extend(plan.warnings)
    pool = worker_pool(inputs, plan.to_read)
    try:
        with clock("stage"):
            staging = stage_files(inputs, plan, pool)
        report.new, report.changed = staging.new, staging.changed
        report.repaired, report.unchanged = staging.repaired, staging.unchanged
        report.bytes_written = staging.bytes_written
        derived = derive_release(inputs, staging, plan.removed, pool)
    finally:
        if pool is not None:
            pool.close()
    report_fingerprints(report, derived.hashed, inputs)
    report.compressed = derived.variants.computed
    report.compress_cache_hits = derived.variants.cache_hits
    return Decided(staging, derived)


def _plan_dry(report: Report, target: Target, inputs: Inputs, *, clear: bool, force: bool) -> None:
    """What a dry run reports: the real run's plan, and what it would prune."""
    staging, derived = _decide(report, inputs)
    config, state = inputs.config, inputs.state
    with inputs.clock("prune"):
        release = planned_release(
            state,
            target.state,
            quiet=derived.quiet,
            digests=staging.digests,
            hashed_files=derived.hashed.files if derived.hashed else (),
            compress=config.compress,
        )
        keep = 0 if clear else config.keep
        report.pruned = planned_prune(
            target.state, state, release, keep, publish=derived.publish, clear=clear
        )
        if clear and force:
            unowned = target.unowned_files(state.targets)
            report.pruned += [p for p in unowned if p not in release]


def _record_and_prune(  # noqa: PLR0913 - what the run decided, and collect's keywords
    report: Report,
    inputs: Inputs,
    decided: Decided,
    staged_any: bool,
    *,
    clear: bool,
    force: bool,
) -> None:
    """Record the release, prune what no kept release lists (``clear``: every older
    release; with ``force`` files corral did not write too), and save the state once."""
    config, state, clock = inputs.config, inputs.state, inputs.clock
    target = inputs.target
    assert target is not None
    with clock("record"):
        dirty = record_run(inputs, decided.staging, decided.derived, staged_any=staged_any)
    report.release, report.published = state.release, decided.derived.publish
    keep = 0 if clear else config.keep
    outcome: PruneOutcome | None = None
    try:
        if keep is not None and (report.published or clear):
            with clock("prune"):
                outcome = prune_files(target, state, keep, remove_unowned=clear and force)
                report.pruned = outcome.pruned + outcome.unowned_removed
    finally:
        # One save for the release and the pruning (the state is the biggest write
        # of a small run); until it lands, pending.json keeps the new files owned.
        if dirty or (outcome is not None and outcome.changed):
            with clock("record"):
                target.state.save(state)
                target.state.clear_pending()
            report.state_written = True
    if outcome is not None and outcome.changed:
        with clock("prune"):
            forget(target.state, state, outcome)
    if config.compress:
        with clock("prune"):
            tidy_cache(target.state, config, grew=decided.derived.variants.computed > 0)


@gc_paused()
def clean(
    config: Config,
    *,
    keep: int | None = None,
    force: bool = False,
    dry_run: bool = False,
    wait: float = 0.0,
) -> CleanReport:
    """Delete files corral wrote that no kept release references.

    Keeps the current release and the ``keep`` before it (default: the configured
    ``keep``, else 2). ``force`` also deletes files corral did not write.
    """
    keep = keep if keep is not None else (config.keep if config.keep is not None else 2)
    target = LocalTarget(config.root, state_dir=config.state_dir)
    target.require_owned()
    if dry_run:
        state = load_state(target.state)
        report = CleanReport(root=str(config.root), dry_run=True)
        kept, dropped, doomed = prune_selection(target.state, state, keep)
        report.kept_releases, report.dropped_releases, report.pruned = kept, dropped, doomed
        if force:
            report.unowned_removed = target.unowned_files(state.targets)
        return report
    with target.locked(wait=wait):
        state = load_state(target.state)
        outcome = prune_and_save(target, state, keep, remove_unowned=force)
    return CleanReport(
        root=str(config.root),
        kept_releases=outcome.kept,
        dropped_releases=outcome.dropped,
        pruned=outcome.pruned,
        unowned_removed=outcome.unowned_removed,
    )
