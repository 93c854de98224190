"""``find``: which source provides a logical path, and which files it shadows.

A path no source provides may still be a file an ignore pattern excludes (reported with the
pattern and where the pattern comes from) or a hashed name of the last releases (mapped back
to its logical path, from corral's manifest in the root).
"""

from __future__ import annotations

import os
import stat
from urllib.parse import unquote, urlsplit

from corral.config import DEFAULT_IGNORE, Config
from corral.errors import BuildError, CorralError
from corral.loadpath import IgnoreRules, SourceFile, path_ignored
from corral.report import FindResult, IgnoredFile
from corral.sources import resolve_sources
from corral.state import StateDir

__all__ = ["find", "logical_path"]


def logical_path(config: Config, path: str) -> str:
    """Turn a logical path, or a URL under ``config.url``, into a logical path."""
    url_path = urlsplit(config.url).path if "://" in config.url else config.url
    candidate = urlsplit(path).path if "://" in path else path
    if candidate.startswith(url_path):
        candidate = candidate[len(url_path) :]
    return unquote(candidate).lstrip("/")


def find(config: Config, path: str) -> FindResult:
    """Look ``path`` up in every source, in priority order, without scanning them all.

    When no source provides it, the result says which source files an ignore pattern
    excluded (``ignored``), or, for a hashed name corral published (``css/app.<hash>.css``),
    the logical path it belongs to, looked up in turn (``hashed_from``).
    """
    logical = logical_path(config, path)
    found = _find(config, logical)
    if found.winner is None and not found.ignored:
        original = _logical_of_hashed(config, logical)
        if original is not None:
            found = _find(config, original)
            found.hashed_from = logical
    return found


def _find(config: Config, logical: str) -> FindResult:
    resolved, problems = resolve_sources(config.sources, config.origin)
    if problems:
        raise BuildError(problems)
    rules = IgnoreRules(config.ignore_patterns)
    hits: list[SourceFile] = []
    ignored: list[IgnoredFile] = []
    for source in resolved:
        prefix = f"{source.prefix}/" if source.prefix else ""
        if not logical.startswith(prefix) or logical == prefix:
            continue
        relative = logical[len(prefix) :]
        if path_ignored(rules, logical, source.prefix):
            there = _existing(source.files, logical, str(source.path), relative)
            if there is not None:
                pattern = _ignoring_pattern(config, logical, source.prefix)
                ignored.append(IgnoredFile(there, source.index, *pattern))
            continue
        if source.files is not None:
            listed = dict(source.files).get(logical)
            if listed is None:
                continue
            candidate = listed
        else:
            candidate = os.path.join(source.path, *relative.split("/"))
        try:
            st = os.stat(candidate)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):
            hits.append(SourceFile.of(logical, candidate, source.index, st))
    target = os.path.join(config.root, *logical.split("/")) if hits else None
    if target is not None and not os.path.isfile(target):
        target = None
    hashed = None
    state_dir = StateDir(config.root, config.state_dir)
    if hits and state_dir.owned():
        entry = _fingerprints(state_dir).get(logical)  # a record (the JSON if damaged)
        found = entry.get("hashed") if isinstance(entry, dict) else getattr(entry, "hashed", None)
        if isinstance(found, str):
            hashed = found
    return FindResult(
        logical,
        hits[0] if hits else None,
        hits[1:],
        target=target,
        hashed=hashed,
        source_labels={s.index: s.label for s in resolved},
        ignored=ignored,
    )


def _existing(
    files: tuple[tuple[str, str], ...] | None, logical: str, top: str, relative: str
) -> str | None:
    """The path of the file a source has at ``logical``, if it has one (ignored or not)."""
    if files is not None:
        candidate = dict(files).get(logical)
        if candidate is None:
            return None
    else:
        candidate = os.path.join(top, *relative.split("/"))
    return candidate if os.path.isfile(candidate) else None


def _ignoring_pattern(config: Config, logical: str, prefix: str) -> tuple[str, str]:
    """The first ignore pattern that excludes ``logical`` (or a directory on its way), and
    where that pattern comes from."""
    for pattern in config.ignore_patterns:
        if path_ignored(IgnoreRules((pattern,)), logical, prefix):
            break
    else:  # pragma: no cover - path_ignored said some pattern matches
        return "", ""
    if pattern in config.ignore:
        return pattern, f"'ignore' ({config.origin})"
    if pattern in DEFAULT_IGNORE and config.default_ignore:
        return pattern, "Django's default ignore patterns (turn them off with default_ignore)"
    return pattern, config.origin  # pragma: no cover - every pattern is one of those two


def _logical_of_hashed(config: Config, name: str) -> str | None:
    """The logical path whose hashed name (current or retained) is ``name``, if any."""
    from corral.manifest import CORRAL_MANIFEST, read_manifest  # noqa: PLC0415 - on a miss

    if not config.hash:
        return None
    try:
        manifest = read_manifest(os.path.join(config.root, CORRAL_MANIFEST))
    except CorralError:
        return None  # never collected with fingerprints: nothing to map back
    entry = manifest.by_hashed.get(name)
    return entry.logical if entry is not None else None


def _fingerprints(state_dir: StateDir) -> dict[str, object]:
    """The fingerprints, read without the lock: a run finishing meanwhile may replace
    the derived file ``state.json`` named a moment ago, so read both again then."""
    for _ in range(5):
        state = state_dir.load()
        fingerprints = state.fingerprints
        if fingerprints or not state.derived or state_dir.derived_path(state.derived).exists():
            break
    return fingerprints
