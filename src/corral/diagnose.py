"""``check``: what is wrong with a configuration and its target, without changing anything."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field

from corral.build import collect, load_sources
from corral.config import Config
from corral.errors import BuildError, CorralError, Problem
from corral.loadpath import SourceFile, name_clashes
from corral.lock import holder
from corral.statehome import state_dir_problem
from corral.targets.local import LocalTarget
from corral.targets.localroot import guard_root
from corral.verify import verify_published

__all__ = ["CheckReport", "check"]


@dataclass(slots=True)
class CheckReport:
    """Problems (the next collect would fail or the site is at risk) and warnings."""

    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "problems": [p.to_dict() for p in self.problems],
            "warnings": [w.to_dict() for w in self.warnings],
        }


def check(config: Config, *, deep: bool = False) -> CheckReport:
    """Check sources, conflicts, the target's ownership and contents, and git; then plan
    the next collect (a dry run: it reads and fingerprints, and writes nothing) and report
    every problem it would refuse, missing references included, in collect's words.

    Every published file is checked against what corral recorded: by identity, or with
    ``deep`` by reading it (its sha256, and its size and SRI value in the manifest).
    """
    report = CheckReport()
    loadpath = load_sources(config)
    report.problems.extend(loadpath.problems)
    conflicts = [
        Problem(
            "conflict",
            f"{c.logical!r} comes from {c.winner.path}; also found (and ignored) in "
            + ", ".join(f.path for f in c.shadowed),
            path=c.winner.path,
            logical_path=c.logical,
            hint="remove or rename one copy if the wrong one wins",
        )
        for c in loadpath.conflicts
    ]
    (report.problems if config.strict else report.warnings).extend(conflicts)
    report.warnings.extend([*name_clashes(loadpath.files), *_shipped_variants(loadpath.files)])
    try:
        guard_root(config, loadpath.sources)
    except CorralError as exc:
        report.problems.append(
            Problem("bad-root", exc.message, path=str(config.root), hint=exc.hint)
        )
        return report
    _check_target(config, report, deep=deep)
    _check_git(config, report)
    _check_plan(config, report)
    return report


def _check_plan(config: Config, report: CheckReport) -> None:
    """What the next collect would refuse or warn about, beyond what was found above."""
    if not config.sources:
        return
    try:
        # force: a root corral does not own is reported above; plan as if it were adopted.
        plan = collect(config, dry_run=True, force=True)
    except BuildError as exc:
        found, into = list(exc.problems), report.problems
    except CorralError:
        return  # the target's own trouble, reported above
    else:
        found, into = plan.warnings, report.warnings
    seen = {_key(p) for p in (*report.problems, *report.warnings)}
    into.extend(p for p in found if _key(p) not in seen)


def _key(problem: Problem) -> tuple[str, str | None, str | None, str]:
    return (problem.code, problem.path, problem.logical_path, problem.message)


def _shipped_variants(files: Mapping[str, SourceFile]) -> list[Problem]:
    """Source files named like a variant corral would make of another source file."""
    found = []
    for logical in sorted(files):
        base, dot, ext = logical.rpartition(".")
        if dot and ext in ("gz", "br", "zst") and base in files:
            found.append(
                Problem(
                    "shipped-variant",
                    f"{logical!r} comes with the sources: it is published as it is, and "
                    f"corral makes no .{ext} variant of {base!r} (it would replace this file)",
                    path=files[logical].path,
                    logical_path=logical,
                    hint="nothing to do if it is up to date with its original; otherwise "
                    "ignore it and let corral make the variant",
                )
            )
    return found


def _check_target(config: Config, report: CheckReport, *, deep: bool) -> None:
    root = config.root
    target = LocalTarget(root, state_dir=config.state_dir)
    state_dir = target.state_dir
    if not root.exists():
        return
    if not root.is_dir():
        report.problems.append(
            Problem(
                "bad-root",
                f"the target {root} is not a directory",
                path=str(root),
                hint="point 'root' (--root) at a directory, or remove the file",
            )
        )
        return
    _check_private(target, report)
    if not state_dir.owned():
        with os.scandir(root) as entries:
            occupied = any(entries)
        if occupied:
            report.problems.append(
                Problem(
                    "not-owned",
                    f"{root} is not empty and corral does not own it",
                    path=str(root),
                    hint="collect into a new directory, or adopt this one with "
                    "'corral collect --force'",
                )
            )
        return
    running = holder(state_dir.lock_file)
    if running is not None:
        report.warnings.append(
            Problem(
                "collect-running",
                f"a corral run (process {running}) is writing to {root}: its files were "
                "not checked",
                path=str(root),
                hint="run 'corral check' again once it has finished",
            )
        )
        return
    state = state_dir.load()
    for relpath in target.unowned_files(state.targets):
        report.problems.append(
            Problem(
                "hand-placed",
                "this file was not written by corral (files are never put in the target "
                "by hand; they are replaced or lost on deploy)",
                path=target.path_of(relpath),
                hint="move it into a source directory, then run 'corral collect'; "
                "'corral clean --force' deletes such files",
            )
        )
    report.problems.extend(
        verify_published(
            target, state, deep=deep, links=config.link, manifest_name=config.manifest_name
        )
    )


def _check_private(target: LocalTarget, report: CheckReport) -> None:
    """Anything of corral's private state a server pointed at the root could read."""
    state_dir, root = target.state_dir, target.root
    where = state_dir_problem(root, state_dir.home)
    if where is not None:
        report.problems.append(
            Problem(
                "private-in-root",
                f"corral's state directory {state_dir.home} is not usable: {where}",
                path=str(state_dir.home),
                hint="set 'state_dir' (--state-dir, CORRAL_STATE_DIR) outside the root, or "
                "leave it unset",
            )
        )
    legacy = state_dir.legacy_path
    if state_dir.legacy:
        report.problems.append(
            Problem(
                "private-in-root",
                f"corral's state (source paths, release records) is inside the root, in "
                f"{legacy}, where a server pointed at the root can read it",
                path=str(legacy),
                hint=f"run 'corral collect' (or 'corral clean'): it moves the state to "
                f"{state_dir.home}",
            )
        )
    elif os.path.lexists(legacy):
        report.problems.append(
            Problem(
                "private-in-root",
                f"{legacy} is a leftover of corral's state inside the root, where a server "
                "can read it",
                path=str(legacy),
                hint=f"delete it (corral's state is now in {state_dir.home})",
            )
        )
    staging = state_dir.transient_staging
    if os.path.lexists(staging):
        report.warnings.append(
            Problem(
                "private-in-root",
                f"{staging} exists: a run is staging files right now, or one was killed "
                "(the next run removes it)",
                path=str(staging),
                hint="nothing to do if a run is in progress; else run 'corral collect'",
            )
        )


def _git(root: str, *args: str) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(
            ["git", "-C", root, *args], capture_output=True, text=True, check=False, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


def _check_git(config: Config, report: CheckReport) -> None:
    probe = config.root
    while not probe.exists():
        probe = probe.parent
    where = str(probe if probe.is_dir() else probe.parent)
    top = _git(where, "rev-parse", "--show-toplevel")
    if top is None or top.returncode != 0:
        return  # not in a git work tree (or no git): nothing to check
    root = str(config.root)
    tracked = _git(where, "ls-files", "--", root)
    if tracked is not None and tracked.stdout.strip():
        count = len(tracked.stdout.splitlines())
        report.problems.append(
            Problem(
                "tracked-by-git",
                f"{count} file(s) in the target {root} are tracked by git; the target is "
                "generated on every deploy and must not be committed",
                path=root,
                hint=f"git rm -r --cached {root} && echo '/{os.path.basename(root)}/' >> "
                ".gitignore",
            )
        )
    ignored = _git(where, "check-ignore", "-q", "--", root)
    if ignored is not None and ignored.returncode == 1:
        report.warnings.append(
            Problem(
                "not-git-ignored",
                f"the target {root} is inside a git work tree but not ignored",
                path=root,
                hint="add it to .gitignore so generated files are never committed",
            )
        )
