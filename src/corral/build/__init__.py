"""Wiring the stages of a run: the plan, then each stage in its own module.

``collect`` runs scan → plan → stage → fingerprint → compress → publish → record →
prune; ``clean`` runs prune alone. Each stage lives in a module of this package:

================  ==============================================================
``ownership.py``  whether a root may be used (never the project, a source, ``/``)
``recovery.py``   the state as a run finds it (rebuilt from release records)
``intact.py``     which published files are still exactly as written
``plan.py``       what each source file needs: trusted, or read (and why)
``executor.py``   worker processes for a first run and big scans
``stage.py``      reading, digesting and staging the files to write
``derive.py``     fingerprinting and compression: the derived files of the release
``publish.py``    renaming everything staged into place, manifests last
``record.py``     the release record and the state a run leaves
``prune.py``      the one retention rule: which releases and files go
``clock.py``      the timings a report shows per stage
================  ==============================================================
"""

from __future__ import annotations

import time

from corral.build.clock import Clock
from corral.build.derive import derive_release
from corral.build.executor import worker_pool
from corral.build.intact import inspect, inspect_later
from corral.build.ownership import check_ownership, conflict_problem, guard_root
from corral.build.plan import Run, triage
from corral.build.prune import forget, prune_and_save, prune_files, prune_selection
from corral.build.publish import publish_staged
from corral.build.record import record_run
from corral.build.recovery import load_state
from corral.build.stage import stage_files
from corral.config import Config
from corral.errors import BuildError, OwnershipError, Problem
from corral.gcpause import gc_paused
from corral.hashing import reserved_problems
from corral.loadpath import IgnoreRules, LoadPath, scan
from corral.lock import TargetLock
from corral.precompress import tidy_cache
from corral.publish import LocalTarget
from corral.report import CleanReport, Progress, Report
from corral.retention import EMPTY_RELEASE, planned_prune, planned_release
from corral.sources import resolve_sources
from corral.state import State
from corral.statehome import state_location

__all__ = ["clean", "collect", "guard_root", "load_sources"]


def load_sources(config: Config) -> LoadPath:
    """Resolve and scan the configured sources (no target involved)."""
    resolved, problems = resolve_sources(config.sources, config.origin)
    no_go = (str(config.root), str(state_location(config.root, config.state_dir)))
    loadpath = scan(resolved, IgnoreRules(config.ignore_patterns), no_go)
    loadpath.problems[:0] = problems
    return loadpath


@gc_paused()
def collect(
    config: Config,
    *,
    dry_run: bool = False,
    clear: bool = False,
    force: bool = False,
    wait: float = 0.0,
    progress: Progress | None = None,
) -> Report:
    """Collect every source file into ``config.root`` as a new release.

    Nothing is published unless every file was staged without a problem; a problem
    raises :class:`~corral.errors.BuildError` listing all of them. With ``dry_run``
    the returned report is the plan and nothing is written. ``clear`` prunes every
    file not in the new release once it is complete (``force``: files corral did
    not write too).
    """
    report = Report(root=str(config.root), dry_run=dry_run)
    clock = Clock(report)
    target = LocalTarget(
        config.root,
        file_mode=config.file_mode,
        dir_mode=config.dir_mode,
        state_dir=config.state_dir,
    )
    scanned_ns = time.time_ns()
    if not config.sources:
        raise BuildError(
            [
                Problem(
                    "no-sources",
                    "no sources are configured",
                    hint="add 'sources' to [tool.corral] or pass --source DIR",
                )
            ]
        )
    resolved, problems = resolve_sources(config.sources, config.origin)
    guard_root(config, resolved)
    check_ownership(target, force=force)

    def scan_sources() -> LoadPath:
        no_go = (str(target.root), str(target.state_dir.home))  # no source may reach them
        loadpath = scan(resolved, IgnoreRules(config.ignore_patterns), no_go)
        found = problems + loadpath.problems
        if config.hash:
            found += reserved_problems(loadpath, config)
        report.conflicts = loadpath.conflicts
        if config.strict:
            found.extend(conflict_problem(c) for c in loadpath.conflicts)
        if clear and not loadpath.files and not found:
            found.append(EMPTY_RELEASE)
        if found:
            raise BuildError(found)
        return loadpath

    def decide(
        loadpath: LoadPath, state: State, intact: set[str], staging: LocalTarget | None
    ) -> Run:
        """Plan every file, then fingerprint and compress; stage into ``staging`` if given."""
        report.release = state.release
        run, to_read = triage(loadpath, state, intact, report, clock=clock)
        pool = worker_pool(config, loadpath, to_read, staging)
        try:
            stage_files(
                run,
                to_read,
                state,
                intact,
                report,
                clock=clock,
                progress=progress,
                target=staging,
                scanned_ns=scanned_ns,
                sri=config.integrity if config.hash else None,
                link=config.link,
                pool=pool,
            )
            derive_release(
                config,
                loadpath,
                state,
                intact,
                run,
                report,
                clock=clock,
                progress=progress,
                target=staging,
                pool=pool,
            )
        finally:
            if pool is not None:
                pool.close()
        return run

    owned = target.state_dir.owned()
    if dry_run or not owned:
        # Nothing exists yet (or nothing may be written): scan first, so that bad input
        # leaves no trace at all.
        with clock("scan"):
            loadpath = scan_sources()
    if dry_run:
        state, intact = inspect(target, config.link) if owned else (State(), set())
        run = decide(loadpath, state, intact, None)
        with clock("prune"):
            release = planned_release(
                state,
                target.state_dir,
                quiet=run.quiet,
                digests=run.digests,
                hashed_files=run.hashed.files if run.hashed else (),
                compress=config.compress,
            )
            keep = 0 if clear else config.keep
            report.pruned = planned_prune(
                target.state_dir, state, release, keep, publish=run.publish, clear=clear
            )
            if clear and force:
                unowned = target.unowned_files(state.targets)
                report.pruned += [p for p in unowned if p not in release]
        return report

    target.state_dir.prepare_lock()
    with TargetLock(target.state_dir.lock_file, config.root, wait=wait):
        if moved := target.state_dir.migrate(wait=wait):  # an older corral's layout
            report.warnings.append(moved)
        # Under the lock: a concurrent first run may have taken the root meanwhile.
        empty = check_ownership(target, force=force)
        target.state_dir.create()
        target.state_dir.clean_tmp()
        try:
            if empty:
                target.begin_tree()
            with clock("scan"):
                # The published files are checked in a forked process while this one scans
                # the sources (threads would not do: both are many tiny system calls, and two
                # threads passing the GIL back and forth made them slower, not faster).
                state, intact_later = inspect_later(target, config.link)
                try:
                    if owned:
                        loadpath = scan_sources()
                finally:
                    intact = intact_later()
            try:
                run = decide(loadpath, state, intact, target)
                with clock("publish"):
                    publish_staged(target, state, run, report, force=force, fresh=empty)
                    target.end_tree()
            except BaseException:
                target.discard_staged()
                raise
            with clock("record"):
                dirty = record_run(
                    target.state_dir, state, loadpath, run, report, scanned_ns=scanned_ns
                )
            keep = 0 if clear else config.keep
            outcome = None
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
                        target.state_dir.save(state)
                        target.state_dir.clear_pending()
                    report.state_written = True
            if outcome is not None and outcome.changed:
                with clock("prune"):
                    forget(target.state_dir, state, outcome)
            if config.compress:
                with clock("prune"):
                    tidy_cache(target.state_dir.path, config, grew=run.cache_grew)
        finally:
            target.state_dir.end_staging()
    return report


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
    if not target.state_dir.owned():
        raise OwnershipError(
            f"{config.root} is not a directory corral owns (no ownership marker in "
            f"{target.state_dir.home})",
            path=str(config.root),
            hint="corral only prunes directories it created; run 'corral collect' first",
        )
    if dry_run:
        state = load_state(target.state_dir)
        report = CleanReport(root=str(config.root), dry_run=True)
        kept, dropped, doomed = prune_selection(target.state_dir, state, keep)
        report.kept_releases, report.dropped_releases, report.pruned = kept, dropped, doomed
        if force:
            report.unowned_removed = target.unowned_files(state.targets)
        return report
    target.state_dir.prepare_lock()
    with TargetLock(target.state_dir.lock_file, config.root, wait=wait):
        target.state_dir.migrate(wait=wait)
        state = load_state(target.state_dir)
        outcome = prune_and_save(target, state, keep, remove_unowned=force)
    return CleanReport(
        root=str(config.root),
        kept_releases=outcome.kept,
        dropped_releases=outcome.dropped,
        pruned=outcome.pruned,
        unowned_removed=outcome.unowned_removed,
    )
