"""The publish stage: rename everything staged into place, manifests last."""

from __future__ import annotations

from corral.build.plan import Run
from corral.errors import BuildError, Problem
from corral.publish import LocalTarget
from corral.report import Report
from corral.state import State

__all__ = ["publish_staged"]


def publish_staged(
    target: LocalTarget, state: State, run: Run, report: Report, *, force: bool, fresh: bool
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
