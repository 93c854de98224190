"""The state as a run finds it: a lost state rebuilt from the release records, a killed
run's files owned."""

from __future__ import annotations

from corral.state import State, TargetRecord
from corral.targets.base import StateStore

__all__ = ["load_state", "load_state_as_read"]


def load_state(state_dir: StateStore) -> State:
    """The state, made whole: a release it names without a record is published anew; a
    lost state is rebuilt from the release records; files a killed run was placing are
    owned."""
    return load_state_as_read(state_dir)[0]


def load_state_as_read(state_dir: StateStore) -> tuple[State, bool]:
    """:func:`load_state`, and whether its targets are exactly the state file's (no
    record rebuilt or added)."""
    state, ids = state_dir.load(), state_dir.release_ids()
    as_read = True
    if state.release is not None and state.release not in ids:
        state.release, state.retired = None, None  # no record of it: publish anew
    if state.release is None and ids:
        # The state file was lost or torn: rebuild ownership from the release records.
        # The identities are unknown, so every file is re-read and rewritten.
        state.retired, as_read = None, False
        for release_id in state_dir.release_ids():
            for relpath, digest in state_dir.load_release(release_id).files.items():
                state.targets[relpath] = TargetRecord(digest, -1, -1, -1)
    pending = state_dir.load_pending()
    if pending:
        state.retired, as_read = None, False  # which release lists them is not known
    for relpath, digest in pending.items():
        # A run was killed while renaming these into place: they are corral's.
        state.targets.setdefault(relpath, TargetRecord(digest, -1, -1, -1))
    return state, as_read
