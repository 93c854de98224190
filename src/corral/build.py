"""The one place that wires the stages together: scan → plan → stage → publish → prune."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corral.config import Config
from corral.errors import BuildError, OwnershipError, Problem, TargetError
from corral.fork import in_child, usable
from corral.gcpause import gc_paused
from corral.guards import ChangedWhileCopied
from corral.hashing import Hashed, hash_stage, located, manifest_stage, reserved_problems
from corral.hashing import options_key as fingerprint_options_key
from corral.loadpath import Conflict, IgnoreRules, LoadPath, SourceFile, name_clashes, scan
from corral.lock import TargetLock
from corral.precompress import (
    Content,
    all_files_raw,
    compress_stage,
    manifest_encodings,
    nothing_to_do,
    options_key,
    tidy_cache,
)
from corral.publish import WHOLE_READ_LIMIT, Digests, LocalTarget, Staged, digest_file
from corral.report import CleanReport, Progress, Report
from corral.retention import EMPTY_RELEASE, planned_prune, planned_release
from corral.sources import ResolvedSource, resolve_sources
from corral.state import (
    LEGACY_DIR,
    STAGING_DIR,
    Release,
    SourceRecord,
    State,
    StateDir,
    TargetRecord,
    settled,
)
from corral.statehome import state_location

if TYPE_CHECKING:
    from corral.workers import WorkerPool

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
    clock = _Clock(report)
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
    _check_ownership(target, force=force)

    def scan_sources() -> LoadPath:
        no_go = (str(target.root), str(target.state_dir.home))  # no source may reach them
        loadpath = scan(resolved, IgnoreRules(config.ignore_patterns), no_go)
        found = problems + loadpath.problems
        if config.hash:
            found += reserved_problems(loadpath, config)
        report.conflicts = loadpath.conflicts
        if config.strict:
            found.extend(_conflict_problem(c) for c in loadpath.conflicts)
        if clear and not loadpath.files and not found:
            found.append(EMPTY_RELEASE)
        if found:
            raise BuildError(found)
        return loadpath

    def decide(
        loadpath: LoadPath, state: State, intact: set[str], staging: LocalTarget | None
    ) -> _Run:
        """Plan every file, then fingerprint and compress; stage into ``staging`` if given."""
        report.release = state.release
        run, to_read = _triage(loadpath, state, intact, report, clock=clock)
        pool = _worker_pool(config, loadpath, to_read, staging)
        try:
            _stage(
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
            _derive(
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
        state, intact = _inspect(target, config.link) if owned else (State(), set())
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
        empty = _check_ownership(target, force=force)
        target.state_dir.create()
        target.state_dir.clean_tmp()
        try:
            if empty:
                target.begin_tree()
            with clock("scan"):
                # The published files are checked in a forked process while this one scans
                # the sources (threads would not do: both are many tiny system calls, and two
                # threads passing the GIL back and forth made them slower, not faster).
                state, intact_later = _inspect_later(target, config.link)
                try:
                    if owned:
                        loadpath = scan_sources()
                finally:
                    intact = intact_later()
            try:
                run = decide(loadpath, state, intact, target)
                with clock("publish"):
                    _publish(target, state, run, report, force=force, fresh=empty)
                    target.end_tree()
            except BaseException:
                target.discard_staged()
                raise
            with clock("record"):
                dirty = _record(
                    target.state_dir, state, loadpath, run, report, scanned_ns=scanned_ns
                )
            keep = 0 if clear else config.keep
            outcome = None
            try:
                if keep is not None and (report.published or clear):
                    with clock("prune"):
                        outcome = _prune_files(target, state, keep, remove_unowned=clear and force)
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
                    _forget(target.state_dir, state, outcome)
            if config.compress:
                with clock("prune"):
                    tidy_cache(target.state_dir.path, config, grew=run.cache_grew)
        finally:
            target.state_dir.end_staging()
    return report


def _derive(
    config: Config,
    loadpath: LoadPath,
    state: State,
    intact: set[str],
    run: _Run,
    report: Report,
    *,
    clock: _Clock,
    progress: Progress | None,
    target: LocalTarget | None,
    pool: WorkerPool | None = None,
) -> None:
    """Fingerprint and compress (as configured), decide the release, make the manifests."""
    sources_changed = bool(report.new or report.changed or report.removed)
    if _quiet(config, state, intact, run, report, sources_changed):
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
                    _release_contents(loadpath, run, hashed, target),
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


def _quiet(
    config: Config,
    state: State,
    intact: set[str],
    run: _Run,
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


def _release_contents(
    loadpath: LoadPath, run: _Run, hashed: Hashed | None, target: LocalTarget
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


def _worker_pool(
    config: Config,
    loadpath: LoadPath,
    to_read: list[tuple[SourceFile, str]],
    staging: LocalTarget | None,
) -> WorkerPool | None:
    """Start worker processes (see :mod:`corral.workers`) when there is enough for them:
    the files of a first run into an empty root to stage (and, when fingerprinting, to
    scan while they are held), the other text files whose content the state does not
    vouch for to scan; and a second core."""
    if not to_read or (os.cpu_count() or 1) < 2:
        return None  # a no-change run imports neither the tokenizers nor the pool
    from corral.workers import MIN_SCAN_BYTES, MIN_STAGE_FILES, WorkerPool  # noqa: PLC0415

    stage: list[SourceFile] = []
    if staging is not None and staging.staging_tree and not config.link:
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
    pool = WorkerPool(loadpath.files.keys(), options)
    if stage_too:
        assert staging is not None
        tree = staging
        # Largest first, so no big file is left for the end.
        stage.sort(key=lambda f: -f.size)

        def jobs() -> Iterator[tuple[str, str, str, int]]:
            # Made as the pool takes them: the workers start staging the first files
            # while the staging tree's directories for the rest are made here.
            for found in stage:
                tmp = tree.tree_path(found.logical)
                if tmp is not None:
                    yield found.logical, found.path, tmp, found.size

        pool.stage(jobs(), sri=config.integrity if config.hash else None, mode=config.file_mode)
    if scan_too:
        pool.scan(scan)
    return pool


def target_ids(target: LocalTarget | None, state: State) -> list[int]:
    return target.state_dir.release_ids() if target is not None else []


def _inspect(target: LocalTarget, link: bool = False) -> tuple[State, set[str]]:
    """Load the state and find which published files are still exactly as written.

    ``link``: originals should be symbolic links to their sources (``--link``).
    """
    state, intact = _inspect_later(target, link, fork=False)
    return state, intact()


#: Below this many published files to check, forking costs more than it saves.
_MIN_CHECK_FILES = 5000


def _inspect_later(
    target: LocalTarget, link: bool = False, *, fork: bool = True
) -> tuple[State, Callable[[], set[str]]]:
    """Load the state, and start finding which published files are still exactly as
    written: in a forked process when there are many (see :func:`corral.fork.in_child`);
    the function returned waits for the answer (call it exactly once)."""
    state = _load_state(target.state_dir)
    targets = state.targets
    links = state.sources.keys() if link else set()
    if not fork or len(targets) < _MIN_CHECK_FILES or (os.cpu_count() or 1) < 2:
        checked = target.intact_files(targets, links)
        return state, lambda: checked

    def changed() -> list[str]:  # the few files that differ cross back, not the many
        intact = target.intact_files(targets, links)
        return [relpath for relpath in targets if relpath not in intact]

    later = in_child(changed)

    def wait() -> set[str]:
        differ = set(later())
        return {relpath for relpath in targets if relpath not in differ}

    return state, wait


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
        state = _load_state(target.state_dir)
        report = CleanReport(root=str(config.root), dry_run=True)
        kept, dropped, doomed = _prune_selection(target.state_dir, state, keep)
        report.kept_releases, report.dropped_releases, report.pruned = kept, dropped, doomed
        if force:
            report.unowned_removed = target.unowned_files(state.targets)
        return report
    target.state_dir.prepare_lock()
    with TargetLock(target.state_dir.lock_file, config.root, wait=wait):
        target.state_dir.migrate(wait=wait)
        state = _load_state(target.state_dir)
        outcome = _prune(target, state, keep, remove_unowned=force)
    return CleanReport(
        root=str(config.root),
        kept_releases=outcome.kept,
        dropped_releases=outcome.dropped,
        pruned=outcome.pruned,
        unowned_removed=outcome.unowned_removed,
    )


# --- guards -------------------------------------------------------------------------------


def guard_root(config: Config, sources: list[ResolvedSource]) -> None:
    root = Path(os.path.realpath(config.root))
    project = Path(os.path.realpath(config.project_root))
    hint = f"point {config.root_setting} at a directory of its own, e.g. 'static_root'"
    if root == project or project.is_relative_to(root):
        what = "is" if root == project else "contains"
        raise OwnershipError(
            f"refusing to use {config.root} as the target: it {what} the project root "
            f"({config.project_root}); corral replaces and prunes files in its target",
            path=str(config.root),
            hint=hint,
        )
    if root == Path(root.anchor) or root == Path.home():
        raise OwnershipError(f"refusing to use {root} as the target", path=str(root), hint=hint)
    for source in sources:
        if source.files is not None:
            inside = [path for _, path in source.files if Path(path).is_relative_to(root)]
            if inside:
                raise OwnershipError(
                    f"refusing to use {config.root} as the target: {source.label} lists "
                    f"{inside[0]}, which is inside it",
                    path=str(config.root),
                    hint=hint + "; sources are permanent, the target is generated",
                )
            continue
        src = Path(os.path.realpath(source.path))
        if root == src or src.is_relative_to(root) or root.is_relative_to(src):
            relation = (
                "is the source"
                if root == src
                else "contains the source"
                if src.is_relative_to(root)
                else "is inside the source"
            )
            raise OwnershipError(
                f"refusing to use {config.root} as the target: it {relation} {source.path} "
                f"({source.label})",
                path=str(config.root),
                hint=hint + "; sources are permanent, the target is generated",
            )


def _check_ownership(target: LocalTarget, *, force: bool) -> bool:
    """Refuse a root corral may not use; return whether it holds nothing yet."""
    root = target.root
    if target.state_dir.owned():
        return False
    if root.exists() and not root.is_dir():
        raise TargetError(
            f"target {root} exists and is not a directory",
            path=str(root),
            hint="remove it or point 'root' elsewhere",
        )
    try:
        if root.is_dir():
            with os.scandir(root) as entries:
                # A transient staging directory is what a first run leaves if it is
                # killed (a lone .corral/, what an older corral's first run left).
                occupied = any(entry.name not in (STAGING_DIR, LEGACY_DIR) for entry in entries)
        else:
            occupied = False
    except OSError as exc:
        raise TargetError(f"can't read target {root}: {exc.strerror}", path=str(root)) from exc
    if occupied and not force:
        raise OwnershipError(
            f"{root} is not empty and corral does not own it (no ownership marker in "
            f"{target.state_dir.home})",
            path=str(root),
            hint="point 'root' at a new or empty directory, or pass --force to adopt this one "
            "(files already there are kept, never pruned, unless you also pass --clear)",
        )
    return not occupied


def _conflict_problem(conflict: Conflict) -> Problem:
    shadowed = ", ".join(f.path for f in conflict.shadowed)
    return Problem(
        "conflict",
        f"{conflict.logical!r} is provided by {conflict.winner.path} and also by {shadowed}",
        path=conflict.winner.path,
        logical_path=conflict.logical,
        hint="remove or rename one copy, or ignore it ('strict' makes duplicates an error)",
    )


# --- plan and stage -----------------------------------------------------------------------


@dataclass(slots=True)
class _Run:
    digests: dict[str, str] = field(default_factory=dict)  # logical -> digest, every file
    staged: list[Staged] = field(default_factory=list)
    read_digests: dict[str, Digests] = field(default_factory=dict)  # files read this run
    refresh: bool = False  # state must be rewritten even if nothing is published
    quiet: bool = False  # nothing changed: the last release, fingerprints and variants stand
    hashed: Hashed | None = None  # the fingerprint stage's outcome (when hashing)
    compressed: list[Staged] = field(default_factory=list)  # staged variants
    variants: dict[str, Any] = field(default_factory=dict)  # file -> encoding -> [path, size, sri]
    variant_files: dict[str, str] = field(default_factory=dict)  # variant path -> integrity
    compression: str = ""  # the compression options in force (their repr)
    cache_grew: bool = False  # this run added entries to the shared compression cache
    publish: bool = False  # this run makes a new release
    release_id: int | None = None


def _load_state(state_dir: StateDir) -> State:
    state, ids = state_dir.load(), state_dir.release_ids()
    if state.release is not None and state.release not in ids:
        state.release, state.retired = None, None  # no record of it: publish anew
    if state.release is None and ids:
        # The state file was lost or torn: rebuild ownership from the release records.
        # The identities are unknown, so every file is re-read and rewritten.
        state.retired = None
        for release_id in state_dir.release_ids():
            for relpath, digest in state_dir.load_release(release_id).files.items():
                state.targets[relpath] = TargetRecord(digest, -1, -1, -1)
    pending = state_dir.load_pending()
    if pending:
        state.retired = None  # a killed run's files: which release lists them is not known
    for relpath, digest in pending.items():
        # A run was killed while renaming these into place: they are corral's.
        state.targets.setdefault(relpath, TargetRecord(digest, -1, -1, -1))
    return state


def _triage(
    loadpath: LoadPath, state: State, intact: set[str], report: Report, *, clock: _Clock
) -> tuple[_Run, list[tuple[SourceFile, str]]]:
    """Decide what each file needs: trusted and in place, or to be read (and why)."""
    run = _Run()
    to_read: list[tuple[SourceFile, str]] = []  # (file, why: new | suspect | repair)
    with clock("plan"):
        for logical, found in loadpath.files.items():
            digest = state.trusted(logical, found.path, found.identity)
            if digest is None:
                to_read.append((found, "suspect" if logical in state.sources else "new"))
                continue
            run.digests[logical] = digest
            record = state.targets.get(logical)
            if record is not None and record.digest == digest and logical in intact:
                report.unchanged.append(logical)
            else:
                to_read.append((found, "repair"))
        report.removed = sorted(set(state.sources) - set(loadpath.files))
        if any(why == "new" for _, why in to_read):  # a new name may clash with another
            report.warnings.extend(name_clashes(loadpath.files))
    return run, to_read


def _stage(
    run: _Run,
    to_read: list[tuple[SourceFile, str]],
    state: State,
    intact: set[str],
    report: Report,
    *,
    clock: _Clock,
    progress: Progress | None,
    target: LocalTarget | None,
    scanned_ns: int,
    sri: str | None,
    link: bool = False,
    pool: WorkerPool | None = None,
) -> None:
    """Read and digest the files :func:`_triage` chose; with a ``target``, stage them
    (``pool``: worker processes that stage some of them)."""
    problems: list[Problem] = []
    listed = {"new": report.new, "changed": report.changed, "repair": report.repaired}
    with clock("stage"):
        total = len(to_read)
        done = 0
        for found, why, digests, staged, problem in _examine_all(
            to_read, state, intact, target, sri=sri, link=link, pool=pool
        ):
            done += 1
            if progress is not None and (done % 200 == 0 or done == total):
                progress("stage", done, total)
            if problem is not None:
                problems.append(problem)
                continue
            assert digests is not None
            run.digests[found.logical] = digests.sha256
            run.read_digests[found.logical] = digests
            if why == "unchanged":
                report.unchanged.append(found.logical)
                # Rewrite the state only if that lets the next run trust this file.
                run.refresh |= settled(found.ctime_ns, scanned_ns)
                continue
            listed[why].append(found.logical)
            if staged is not None:
                run.staged.append(staged)
                report.bytes_written += found.size
    if problems:
        raise BuildError(problems)
    for names in (report.new, report.changed, report.repaired, report.unchanged):
        names.sort()


_Examined = tuple[SourceFile, str, Digests | None, Staged | None, Problem | None]
#: Files at least this big are read, hashed and staged on threads (see _examine_all).
_THREAD_MIN_SIZE = 128 << 10


def _examine_all(
    to_read: list[tuple[SourceFile, str]],
    state: State,
    intact: set[str],
    target: LocalTarget | None,
    *,
    sri: str | None,
    link: bool,
    pool: WorkerPool | None = None,
) -> Iterator[_Examined]:
    """Read, digest and (if ``stage``) stage files: big ones on threads, small ones here
    or, when a ``pool`` was handed them, in its worker processes.

    Reading, hashing and writing a big file release the GIL for long stretches, so a
    few threads hash big files in parallel. A small file is mostly Python and a few tiny
    system calls, each a GIL hand-over between threads: small files are examined in
    this thread meanwhile (threads made a copy of 5,271 mostly small files take 1.5
    times as long, with four times the system time), or by worker processes.
    """

    def work(chunk: list[tuple[SourceFile, str]]) -> list[_Examined]:
        return [
            _examine(found, reason, state, intact, target, sri=sri, link=link)
            for found, reason in chunk
        ]

    handed = pool.staging if pool is not None else {}

    def from_workers() -> Iterator[_Examined]:
        if not handed:
            return
        assert pool is not None and target is not None
        by_logical = {found.logical: found for found, _ in to_read if found.logical in handed}
        for logical, digests, identity in pool.staged():
            staged = Staged(logical, handed[logical], digests.sha256, identity)
            target.register(staged)
            yield by_logical.pop(logical), "new", digests, staged, None
        # Whatever a worker could not stage, this process stages (or reports) itself.
        yield from work([(found, "new") for found in by_logical.values()])

    local = [item for item in to_read if item[0].logical not in handed]
    big = [item for item in local if item[0].size >= _THREAD_MIN_SIZE]
    if len(big) < 2:
        yield from work(local)
        yield from from_workers()
        return
    small = [item for item in local if item[0].size < _THREAD_MIN_SIZE]
    # Imported here: concurrent.futures pulls in logging, which a no-change run never needs.
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    big.sort(key=lambda item: -item[0].size)  # largest first: no big file left for last
    workers = min(4, os.cpu_count() or 1)
    threads = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="corral-stage")
    try:
        futures = [threads.submit(work, [item]) for item in big]
        yield from work(small)
        yield from from_workers()
        for future in futures:
            yield from future.result()
    finally:
        threads.shutdown(wait=True, cancel_futures=True)


def _examine(
    found: SourceFile,
    reason: str,
    state: State,
    intact: set[str],
    target: LocalTarget | None,
    *,
    sri: str | None,
    link: bool,
) -> _Examined:
    """Decide what a file that could not be trusted by its identity needs."""
    try:
        digests, data = digest_file(found.path, sri=sri, size=found.size)
    except OSError as exc:
        return found, "problem", None, None, _read_problem(exc, found)
    digest = digests.sha256
    why = "changed" if reason == "suspect" else reason
    old = state.sources.get(found.logical)
    if reason == "suspect" and old is not None and old.digest == digest:
        record = state.targets.get(found.logical)
        same_link = not link or old.path == found.path  # a link names its source file
        if record is not None and record.digest == digest and found.logical in intact and same_link:
            return found, "unchanged", digests, None, None
        why = "repair"
    if target is None:
        staged = None
    elif link:
        staged = target.stage_symlink(found.logical, found.path, digest)
    else:
        try:
            staged = target.stage(found.logical, found.path, digest, data)
        except ChangedWhileCopied as exc:
            return found, "problem", None, None, exc.problem()
    return found, why, digests, staged, None


def _read_problem(exc: OSError, found: SourceFile) -> Problem:
    if isinstance(exc, PermissionError):
        return Problem(
            "unreadable",
            "permission denied reading this file",
            path=found.path,
            logical_path=found.logical,
            hint="make it readable by the user running corral, or add an ignore pattern",
        )
    if isinstance(exc, FileNotFoundError):
        return Problem(
            "vanished",
            "the file disappeared while corral was running",
            path=found.path,
            logical_path=found.logical,
            hint="run again once whatever is changing the sources has finished",
        )
    return Problem(
        "unreadable",
        f"can't read this file: {exc.strerror or exc}",
        path=found.path,
        logical_path=found.logical,
        hint="fix the file or add an ignore pattern for it",
    )


# --- publish and record -------------------------------------------------------------------


def _publish(
    target: LocalTarget, state: State, run: _Run, report: Report, *, force: bool, fresh: bool
) -> None:
    """Rename everything staged into place: hashed copies, originals, manifests last."""
    hashed = run.hashed
    order = [
        *(hashed.staged if hashed else []),
        *run.staged,
        *run.compressed,
        *(hashed.manifests if hashed else []),
    ]
    if not order:
        return
    keep = set(run.digests) | set(hashed.files if hashed else {}) | set(run.variant_files)
    relpaths = [s.relpath for s in order]
    removals: list[str] = []
    problems: list[Problem] = []
    if not fresh or state.targets:  # in an empty root nothing can stand in the way
        removals, problems = target.obstacles(relpaths, state.targets, keep, force=force)
    if problems:
        raise BuildError(problems)
    target.state_dir.save_pending({s.relpath: s.digest for s in order})
    if removals:
        for relpath in target.remove(removals):
            state.targets.pop(relpath, None)
    # A first run staged a tree: whole top-level directories go into place at once,
    # then the manifests (and anything staged outside the tree) one by one.
    manifests = [target.out_of_tree(s) for s in hashed.manifests] if hashed else []
    files = order[: len(order) - len(manifests)]
    singles = [s for s in files if not target.in_tree(s)]
    tree = [s for s in files if target.in_tree(s)]
    if tree:
        for staged in tree:
            state.targets[staged.relpath] = target.record(staged)
        target.commit_tree()
    for staged in (*singles, *manifests):
        state.targets[staged.relpath] = target.commit(staged)
    report.files_linked = target.linked


def _record(
    state_dir: StateDir,
    state: State,
    loadpath: LoadPath,
    run: _Run,
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
        state.retired = _retire(state, files)
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


# --- prune --------------------------------------------------------------------------------


@dataclass(slots=True)
class _PruneOutcome:
    kept: list[int]
    dropped: list[int]
    pruned: list[str]
    unowned_removed: list[str]

    @property
    def changed(self) -> bool:
        return bool(self.dropped or self.pruned or self.unowned_removed)


def _retire(state: State, listed: dict[str, str]) -> dict[str, int] | None:
    """``state.retired`` once a new release listing ``listed`` is current.

    A target the last release listed and this one does not was last listed by the last
    release; one the table already knew keeps its entry. Called before ``state.release``
    moves on, with ``state.targets`` holding every file the new release placed.
    """
    old, last = state.retired, state.release
    if old is None:
        return None
    return {p: old.get(p, last or 0) for p in state.targets if p not in listed}


def _prune_selection(
    state_dir: StateDir, state: State, keep: int
) -> tuple[list[int], list[int], list[str]]:
    """The releases kept and dropped, and the files no kept release lists (sorted).

    Right after a publish, ``state.retired`` answers without reading a release record:
    a file the new release does not list is still listed by a kept release exactly when
    the newest release that listed it is kept (the kept ones are the newest). Otherwise
    the kept releases' records are read, and ``state.retired`` is rebuilt from them.
    """
    ids = state_dir.release_ids()
    current = state.release
    older = [i for i in ids if current is None or i <= current]
    newer = [i for i in ids if current is not None and i > current]  # records of killed runs
    kept = older[-(keep + 1) :] + newer
    dropped = [i for i in ids if i not in kept]
    doomed = _doomed_from_retired(state_dir, state, kept, newer)
    if doomed is not None:
        return kept, dropped, doomed
    listed: dict[str, int] = {}  # file -> the newest kept release that lists it
    for release_id in sorted(kept):
        listed.update(dict.fromkeys(state_dir.load_release(release_id).files, release_id))
    doomed = sorted(p for p in state.targets if p not in listed)
    if current is None or current not in kept:
        state.retired = None
    else:
        state.retired = {
            p: listed[p] for p in state.targets if p in listed and listed[p] != current
        }
    return kept, dropped, doomed


def _doomed_from_retired(
    state_dir: StateDir, state: State, kept: list[int], newer: list[int]
) -> list[str] | None:
    """The files to prune by ``state.retired``; None when it can't tell (read the records)."""
    retired, current = state.retired, state.release
    if retired is None or current is None or newer or current not in kept:
        return None
    written = state_dir.written_release(current)
    if written is None:
        return None  # not a publishing run (e.g. ``corral clean``)
    listed, oldest_kept = written.files, min(kept)
    doomed: list[str] = []
    for relpath in state.targets:
        if relpath in listed:
            continue
        last = retired.get(relpath)
        if last is None:
            return None  # a target the table does not know: trust the records
        if last < oldest_kept:
            doomed.append(relpath)
    doomed.sort()
    return doomed


def _prune(target: LocalTarget, state: State, keep: int, *, remove_unowned: bool) -> _PruneOutcome:
    """Prune and save the state (``corral clean``)."""
    outcome = _prune_files(target, state, keep, remove_unowned=remove_unowned)
    if outcome.changed:
        target.state_dir.save(state)
        _forget(target.state_dir, state, outcome)
    return outcome


def _prune_files(
    target: LocalTarget, state: State, keep: int, *, remove_unowned: bool
) -> _PruneOutcome:
    """Delete the files no kept release references and drop them from ``state``.

    The caller saves the state, then calls :func:`_forget`: a run killed before the
    save leaves the dropped releases' records, so the next run prunes again.
    """
    kept, dropped, doomed = _prune_selection(target.state_dir, state, keep)
    unowned = target.unowned_files(state.targets) if remove_unowned else []
    if not (doomed or dropped or unowned):
        return _PruneOutcome(kept, dropped, [], [])
    pruned = target.remove(doomed)
    for relpath in doomed:
        state.targets.pop(relpath, None)
        if state.retired is not None:
            state.retired.pop(relpath, None)
    removed_unowned = target.remove(unowned)
    return _PruneOutcome(kept, dropped, pruned, removed_unowned)


def _forget(state_dir: StateDir, state: State, outcome: _PruneOutcome) -> None:
    """After the state is saved: drop the pruned releases' records."""
    for release_id in outcome.dropped:
        state_dir.delete_release(release_id)


# --- timing -------------------------------------------------------------------------------


class _Clock:
    def __init__(self, report: Report) -> None:
        self.report = report

    @contextmanager
    def __call__(self, phase: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            timings = self.report.timings
            timings[phase] = timings.get(phase, 0.0) + time.perf_counter() - start
