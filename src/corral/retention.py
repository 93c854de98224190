"""What pruning keeps: a dry run's plan, and the manifest's list of retained releases.

A dry run says what it would prune: the same decision as the real run's.

A real run publishes its release, then deletes every file corral owns that neither the new
release nor the ``keep`` releases before it list (``--clear``: ``keep`` 0), and with
``--force --clear`` every file it did not write too. A dry run publishes nothing, so it
plans the new release's files instead — the originals, the hashed copies and manifests
the fingerprint stage planned, and the variants each of those files has (compression is
not run dry) — and applies the same rule to them, so ``collect --clear -n`` lists exactly
what ``collect --clear`` deletes.

After a prune (``corral clean``, or a collect with ``keep``), :func:`prune_retained`
rewrites the root's ``corral-manifest.json`` so its ``retained`` section lists only the
releases that were kept, and only entries whose files are still there: a server started
from it neither lists nor tries to serve what was deleted.
"""

from __future__ import annotations

import itertools
import os
import stat
from collections.abc import Collection, Iterator, Mapping
from typing import TYPE_CHECKING, Any, BinaryIO

from corral import jsonio
from corral.errors import Problem
from corral.manifest import CORRAL_MANIFEST
from corral.state import Release, State

if TYPE_CHECKING:
    from corral.targets.base import StateStore, Target

__all__ = ["EMPTY_RELEASE", "kept_retained", "planned_prune", "planned_release", "prune_retained"]

#: Why a run with ``--clear`` and no source file refuses (it would empty the root).
EMPTY_RELEASE = Problem(
    "empty-release",
    "the sources hold no file: with --clear this run would delete every published file",
    hint="check the sources and ignore patterns; to empty the root on purpose, run "
    "'corral clean --keep 0' after a run without --clear",
)


def planned_release(
    state: State,
    state_dir: StateStore,
    *,
    quiet: bool,
    digests: Collection[str],
    hashed_files: Collection[str],
    compress: bool,
) -> set[str]:
    """The files the release a dry run plans consists of (target-relative paths)."""
    if quiet and state.release is not None:  # the last release stands as it is
        return set(state_dir.load_release(state.release).files)
    files = set(digests) | set(hashed_files)
    if compress:
        variants: Mapping[str, Mapping[str, list[Any]]] = state.variants
        for published in list(files):
            for path, _size, _sri in variants.get(published, {}).values():
                files.add(path)
    return files


def planned_prune(
    state_dir: StateStore,
    state: State,
    release: set[str],
    keep: int | None,
    *,
    publish: bool,
    clear: bool,
) -> list[str]:
    """The files a real run would prune after publishing ``release`` (sorted)."""
    if keep is None or not (publish or clear):
        return []
    ids = state_dir.release_ids() if state_dir.owned() else []
    current = state.release
    if not publish and current is not None:
        ids = [i for i in ids if i < current]  # the current release stays the newest
    older = ids[-keep:] if keep else []
    referenced = set(release)
    for release_id in older:
        referenced.update(state_dir.load_release(release_id).files)
    return sorted(p for p in state.targets if p not in referenced)


def kept_retained(
    retained: Mapping[str, Any], kept: Collection[str], pruned: Collection[str]
) -> dict[str, dict[str, Any]]:
    """The ``retained`` section of a manifest once the releases not in ``kept`` are gone
    and the files in ``pruned`` deleted: an entry whose hashed file was pruned goes, a
    variant whose file was pruned goes from its entry, a release left empty goes."""
    out: dict[str, dict[str, Any]] = {}
    for release_id, entries in retained.items():
        if release_id not in kept or not isinstance(entries, dict):
            continue
        left: dict[str, Any] = {}
        for logical, raw in entries.items():
            if not isinstance(raw, dict) or raw.get("hashed") in pruned:
                continue
            entry = raw
            encodings = raw.get("encodings")
            if isinstance(encodings, dict) and any(
                isinstance(v, dict) and v.get("path") in pruned for v in encodings.values()
            ):
                entry = {
                    **raw,
                    "encodings": {
                        name: v
                        for name, v in encodings.items()
                        if not (isinstance(v, dict) and v.get("path") in pruned)
                    },
                }
            left[logical] = entry
        if left:
            out[release_id] = left
    return out


def prune_retained(
    target: Target, state: State, kept: Collection[int], pruned: Collection[str]
) -> bool:
    """After a prune kept the releases ``kept`` and deleted ``pruned``: rewrite the root's
    corral manifest without the dropped releases' entries (see :func:`kept_retained`).

    Only a manifest exactly as corral wrote it is rewritten (one edited by hand, or
    unreadable, is left for the next collect to restore). The new file replaces the old
    one atomically, keeps its permissions, and is recorded in ``state`` and in the current
    release's record (the caller saves the state). Returns whether it was rewritten.
    """
    record = state.targets.get(CORRAL_MANIFEST)
    if record is None or not target.intact_files({CORRAL_MANIFEST: record}, frozenset()):
        return False
    path = target.path_of(CORRAL_MANIFEST)
    try:
        with open(path, "rb") as file:
            mode = stat.S_IMODE(os.fstat(file.fileno()).st_mode)
            start, tail = _tail(file)
    except OSError:
        return False
    if b'"retained"' not in tail:
        return False
    try:
        payload = jsonio.loads(b"{" + tail[1:])
    except ValueError:
        return False
    retained = payload.get("retained") if isinstance(payload, dict) else None
    if not isinstance(retained, dict):
        return False
    left = kept_retained(retained, {str(i) for i in kept}, frozenset(pruned))
    if left == retained:
        return False
    if left:
        payload["retained"] = left
    else:
        del payload["retained"]
    # The files (all but the tail) are copied as they are: the large corpus's manifest
    # is 32 MB, parsed and written whole 70 MiB at a prune's peak.
    new_tail = b"," + jsonio.dumps_sorted(payload)[1:]
    import hashlib  # noqa: PLC0415 - a prune that rewrites the manifest only

    hasher = hashlib.sha256()
    try:
        for part in _head(path, start):
            hasher.update(part)
    except OSError:
        return False
    hasher.update(new_tail)
    digest = hasher.hexdigest()
    # With the mode it had (clean does not know the configured mode).
    parts = itertools.chain(_head(path, start), (new_tail,))
    state.targets[CORRAL_MANIFEST] = target.rewrite(CORRAL_MANIFEST, parts, digest, mode)
    _record_digest(target.state, state, digest)
    return True


#: Where the files of a corral manifest end: its next key (sorted keys, compact; no
#: entry of the files or text in them can hold these bytes, see :func:`_tail`).
_RELEASE = b',"release":"'


def _tail(file: BinaryIO) -> tuple[int, bytes]:
    """Where a corral manifest's files end, and the rest of its bytes (``release``,
    ``retained``, ``url``, ``version``), read a piece at a time. The first
    ``,"release":"``: a quote in a string is escaped, so one after a comma ends or
    starts a string, and no entry has a key ``release`` with a string value."""
    seen, offset = b"", 0
    while piece := file.read(1 << 20):
        found = (seen + piece).find(_RELEASE)
        if found >= 0:
            start = offset - len(seen) + found
            file.seek(start)
            return start, file.read()
        seen = (seen + piece)[-len(_RELEASE) :]
        offset += len(piece)
    raise OSError("not a corral manifest")  # (an unreadable one is left as it is)


def _head(path: str, size: int) -> Iterator[bytes]:
    """The first ``size`` bytes of ``path``, a piece at a time."""
    with open(path, "rb") as file:
        while size > 0 and (piece := file.read(min(size, 1 << 20))):
            size -= len(piece)
            yield piece


def _record_digest(state_dir: StateStore, state: State, digest: str) -> None:
    """The current release lists the rewritten manifest with its new digest (``verify``
    checks the published bytes against it)."""
    if state.release is None or state.release not in state_dir.release_ids():
        return
    release = state_dir.load_release(state.release)
    if CORRAL_MANIFEST in release.files:
        files = {**release.files, CORRAL_MANIFEST: digest}
        state_dir.save_release(Release(release.id, release.created, files))
