"""``corral check``'s verification of a published root: every file of the current release
as recorded, and the manifests against the files they name.

By default the check is cheap: each published file's identity (inode, size, mtime) is
compared with what corral recorded when it wrote it, as every run does; a file changed in
place is seen without reading it. ``deep`` also reads every published file and compares
its sha256 (and, for the files the corral manifest describes, its size and SRI value)
with the record, which catches what identities cannot (a file rewritten with its old
mtime restored, a torn write after a power cut).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from collections.abc import Iterator, Mapping

from corral.errors import CorralError, Problem
from corral.manifest import CORRAL_MANIFEST, parse_manifest
from corral.state import State
from corral.targets.local import LocalTarget

__all__ = ["verify_published"]

_CHUNK = 1 << 20


def verify_published(
    target: LocalTarget, state: State, *, deep: bool, links: bool, manifest_name: str
) -> Iterator[Problem]:
    """Problems with the current release as published in ``target``.

    ``links``: originals are symbolic links to their sources (``link``);
    ``manifest_name``: where the Django-format manifest is.
    """
    if state.release is None:
        return
    try:
        files = target.state_dir.load_release(state.release).files
    except CorralError as exc:
        yield Problem(
            "bad-state", exc.message, path=str(target.state_dir.releases_dir), hint=exc.hint
        )
        return
    records = {p: state.targets[p] for p in files if p in state.targets}
    link_paths = state.sources.keys() if links else frozenset()
    intact = target.intact_files(records, link_paths)
    for relpath in sorted(files):
        path = target.path_of(relpath)
        if relpath not in intact:
            yield Problem(
                "modified",
                "this file was changed or deleted after corral wrote it",
                path=path,
                hint="edit the source instead; 'corral collect' restores it",
            )
        elif deep and relpath not in link_paths and _sha256(path) != files[relpath]:
            yield Problem(
                "content-mismatch",
                "this file's bytes are not the bytes corral published (its name, digest "
                "and integrity value no longer describe it)",
                path=path,
                hint="run 'corral collect' to restore it; if it recurs, check the disk",
            )
    yield from _check_corral_manifest(target, deep=deep)
    yield from _check_django_manifest(target, manifest_name)


def _check_corral_manifest(target: LocalTarget, *, deep: bool) -> Iterator[Problem]:
    where = target.path_of(CORRAL_MANIFEST)
    try:
        with open(where, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        return
    except OSError as exc:
        yield _manifest_problem(where, f"can't read it: {exc.strerror or exc}")
        return
    try:
        manifest = parse_manifest(data, where=where)
    except CorralError as exc:
        yield _manifest_problem(where, exc.message)
        return
    for logical, entry in sorted(manifest.files.items()):
        path = target.path_of(entry.hashed)
        size = _size(path)
        if size is None:
            yield _manifest_problem(
                where, f"{logical!r}: its hashed file {entry.hashed} is missing"
            )
            continue
        if size != entry.size:
            yield _manifest_problem(
                where,
                f"{logical!r}: {entry.hashed} has {size} bytes, the manifest says {entry.size}",
            )
            continue
        if deep:
            digests = _digests(path, entry.integrity)
            if digests[0] != entry.sha256 or digests[1] != entry.integrity:
                yield _manifest_problem(
                    where,
                    f"{logical!r}: the content of {entry.hashed} does not match its "
                    "sha256 or integrity in the manifest",
                )
        for encoding, variant in sorted(entry.encodings.items()):
            if _size(target.path_of(variant.path)) != variant.size:
                yield _manifest_problem(
                    where,
                    f"{logical!r}: its {encoding} variant {variant.path} is missing or "
                    "not the size the manifest says",
                )


def _check_django_manifest(target: LocalTarget, name: str) -> Iterator[Problem]:
    where = target.path_of(name)
    try:
        with open(where, "rb") as fh:
            payload = json.loads(fh.read())
    except FileNotFoundError:
        return
    except (OSError, ValueError) as exc:
        yield _manifest_problem(where, f"can't read it as JSON: {exc}")
        return
    paths = payload.get("paths") if isinstance(payload, dict) else None
    if not isinstance(paths, Mapping):
        yield _manifest_problem(where, "it has no 'paths' table")
        return
    for logical, hashed in sorted(paths.items()):
        if not isinstance(hashed, str) or _size(target.path_of(hashed)) is None:
            yield _manifest_problem(where, f"{logical!r}: it names {hashed!r}, which is missing")


def _manifest_problem(where: str, message: str) -> Problem:
    return Problem(
        "manifest-mismatch",
        f"manifest {message}",
        path=where,
        hint="run 'corral collect' to publish the release again",
    )


def _size(path: str) -> int | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size if stat.S_ISREG(st.st_mode) else None


def _sha256(path: str) -> str | None:
    return _digests(path, None)[0]


def _digests(path: str, integrity: str | None) -> tuple[str | None, str | None]:
    """The sha256 of a file and (when ``integrity`` names its algorithm) its SRI value."""
    algorithm = integrity.partition("-")[0] if integrity else ""
    sha256 = hashlib.sha256()
    other = hashlib.new(algorithm) if algorithm not in ("", "sha256") else None
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                sha256.update(chunk)
                if other is not None:
                    other.update(chunk)
    except OSError:
        return None, None
    if not algorithm:
        return sha256.hexdigest(), None
    raw = (other or sha256).digest()
    return sha256.hexdigest(), f"{algorithm}-{base64.b64encode(raw).decode('ascii')}"
