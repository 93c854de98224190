"""``find``: which source provides a logical path, and which files it shadows."""

from __future__ import annotations

import os
import stat
from urllib.parse import unquote, urlsplit

from corral.config import Config
from corral.errors import BuildError
from corral.loadpath import IgnoreRules, SourceFile, path_ignored
from corral.report import FindResult
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
    """Look ``path`` up in every source, in priority order, without scanning them all."""
    logical = logical_path(config, path)
    resolved, problems = resolve_sources(config.sources, config.origin)
    if problems:
        raise BuildError(problems)
    rules = IgnoreRules(config.ignore_patterns)
    hits: list[SourceFile] = []
    for source in resolved:
        prefix = f"{source.prefix}/" if source.prefix else ""
        if not logical.startswith(prefix) or logical == prefix:
            continue
        relative = logical[len(prefix) :]
        if path_ignored(rules, logical, source.prefix):
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
        entry = _fingerprints(state_dir).get(logical)
        if isinstance(entry, dict) and isinstance(entry.get("hashed"), str):
            hashed = entry["hashed"]
    return FindResult(
        logical,
        hits[0] if hits else None,
        hits[1:],
        target=target,
        hashed=hashed,
        source_labels={s.index: s.label for s in resolved},
    )


def _fingerprints(state_dir: StateDir) -> dict[str, object]:
    """The fingerprints, read without the lock: a run finishing meanwhile may replace
    the derived file ``state.json`` named a moment ago, so read both again then."""
    for _ in range(5):
        state = state_dir.load()
        fingerprints = state.fingerprints
        if fingerprints or not state.derived or state_dir.derived_path(state.derived).exists():
            break
    return fingerprints
