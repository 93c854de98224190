"""The manifests of a release: where they go, what may not take their names, and making them.

Two manifests are staged with every release and published last:

* ``staticfiles.json`` (its name is configurable) — Django's format, so Django's
  ``{% static %}`` and ``ManifestStaticFilesStorage`` read it unchanged;
* ``corral-manifest.json`` — per logical path: hashed name, size, content type, SRI
  integrity and encoded variants (read back by :mod:`corral.manifest`). A copy is kept
  with each release (``releases/<id>.manifest.json`` in the state directory) so old
  releases stay resolvable; its ``retained`` section lists the entries of the older
  releases the run keeps whose hashed files the new release does not, so a server reading
  this one public file keeps serving them until they are pruned.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Set
from typing import TYPE_CHECKING, Any, NamedTuple

from corral.build.plan import Inputs
from corral.config import Config
from corral.errors import BuildError, Problem
from corral.guards import ChangedWhileCopied
from corral.loadpath import LoadPath
from corral.manifest import CORRAL_MANIFEST
from corral.targets.base import Staged, Target

if TYPE_CHECKING:
    from corral.fingerprint import Fingerprint

__all__ = [
    "CORRAL_MANIFEST",
    "DJANGO_MANIFEST",
    "MANIFESTS",
    "Manifests",
    "make_manifests",
    "manifest_encodings",
    "manifest_names",
    "reserved_problems",
]

DJANGO_MANIFEST = "staticfiles.json"
MANIFESTS = (DJANGO_MANIFEST, CORRAL_MANIFEST)


class Manifests(NamedTuple):
    """Both manifests of a release, made."""

    files: dict[str, str]  # manifest name -> sha256 of its bytes (Django's first)
    staged: list[Staged]  # those that differ from the target's, to publish last
    #: corral's manifest, written to the state's scratch space to be kept with the new
    #: release (the draft's path); ``None`` when there is no new release to keep it
    manifest: str | None


def manifest_names(config: Config) -> tuple[str, str]:
    """Where the two manifests go: Django's (its name is configurable) and corral's."""
    return (config.manifest_name, CORRAL_MANIFEST)


def reserved_problems(loadpath: LoadPath, config: Config) -> list[Problem]:
    """Source files that would land where the manifests go."""
    return [
        Problem(
            "reserved-path",
            f"logical path {name!r} is where corral writes its manifest",
            path=loadpath.files[name].path,
            logical_path=name,
            hint="rename it, give its source a prefix, or ignore it",
        )
        for name in manifest_names(config)
        if name in loadpath.files
    ]


def make_manifests(
    inputs: Inputs,
    fingerprints: Mapping[str, Fingerprint],
    *,
    release: int,
    encodings: Mapping[str, Mapping[str, Any]],
    keep: bool = True,
) -> Manifests:
    """Make both manifests (published last) and stage whichever differs from the target's.

    ``keep``: a new release keeps corral's manifest (see :attr:`Manifests.manifest`).
    """
    import hashlib  # noqa: PLC0415

    from corral.fingerprint.manifest import (  # noqa: PLC0415
        corral_manifest_parts,
        django_manifest,
    )

    config, state, intact, target = inputs.config, inputs.state, inputs.intact, inputs.target
    retained = _retained(target, config.keep, fingerprints) if target is not None else None
    parts = corral_manifest_parts(
        fingerprints, url=config.url, release=release, encodings=encodings, retained=retained
    )
    # corral's manifest (32 MB on the large corpus) goes to a file as it is made, never
    # held whole: the copy kept with the release, and the one staged copied from it.
    # (Without a new release the file is only staged, if at all: repaired.)
    hasher = hashlib.sha256()
    payload: bytes | None = None
    draft = None
    if target is None:
        for part in parts:
            hasher.update(part)
    elif keep:
        draft = target.state.draft(_hashing(parts, hasher))
    else:
        payload = b"".join(_hashing(parts, hasher))
    files: dict[str, str] = {}
    staged: list[Staged] = []
    django = django_manifest(fingerprints)
    for name, data, digest in (
        (config.manifest_name, django, hashlib.sha256(django).hexdigest()),
        (CORRAL_MANIFEST, payload, hasher.hexdigest()),
    ):
        files[name] = digest
        record = state.targets.get(name)
        if target is None or (name in intact and record is not None and record.digest == digest):
            continue
        if data is not None:
            staged.append(target.stage_bytes(name, data, digest))
            continue
        assert draft is not None
        try:
            staged.append(target.stage(name, draft, digest, None))
        except ChangedWhileCopied as exc:  # only if something rewrote the draft
            raise BuildError([exc.problem()]) from None
    return Manifests(files, staged, draft)


def _hashing(parts: Iterable[bytes], hasher: Any) -> Iterator[bytes]:
    for part in parts:
        hasher.update(part)
        yield part


def _retained(
    target: Target, keep: int | None, fingerprints: Mapping[str, Fingerprint]
) -> dict[str, dict[str, Any]]:
    """The entries of the releases the coming prune keeps (the ``keep`` newest before
    this one; all with ``keep=None``) whose hashed files this release does not list."""
    ids = target.state.release_ids()
    if keep is not None:
        ids = ids[-keep:] if keep else []
    out: dict[str, dict[str, Any]] = {}
    if not ids:
        return out  # (a first run: no set of every hashed name)
    current = {fp.hashed for fp in fingerprints.values()}
    for release_id in ids:
        try:
            kept = _entries_not_in(target.state.release_manifest(release_id), current)
        except (OSError, ValueError, KeyError, TypeError):
            continue  # an older state kept no manifest for it: nothing to add
        if kept:
            out[str(release_id)] = kept
    return out


_FILES = '{"files":{'  # how every corral manifest begins (compact, keys sorted)


def _entries_not_in(text: Iterator[str], current: Set[str]) -> dict[str, Any]:
    """The entries of a corral manifest's ``files`` whose hashed file is not in
    ``current``, the manifest's text read and its entries parsed one at a time (the
    large corpus's manifest is 32 MB: held and parsed whole it took up to 200 MiB of a
    changed run's peak). ``ValueError`` for a manifest that is not such JSON."""
    import json  # noqa: PLC0415

    decode = json.JSONDecoder().raw_decode
    buffer, at = "", 0

    def more() -> bool:
        nonlocal buffer, at
        piece = next(text, "")
        buffer, at = buffer[at:] + piece, 0
        return bool(piece)

    while len(buffer) < len(_FILES) and more():
        pass
    if not buffer.startswith(_FILES):
        raise ValueError("not a corral manifest")
    at = len(_FILES)
    kept: dict[str, Any] = {}
    while True:
        if at == len(buffer) and not more():
            raise ValueError("the manifest ends inside its files")
        if buffer[at] == "}":
            return kept
        try:
            logical, end = decode(buffer, at + (buffer[at] == ","))
            if buffer[end] != ":":
                raise ValueError("not a corral manifest")
            entry, end = decode(buffer, end + 1)
        except (ValueError, IndexError):
            if more():
                continue  # an entry cut where this piece of text ends: read on
            raise ValueError("the manifest ends inside its files") from None
        at = end
        if type(entry) is dict and entry.get("hashed") not in current:
            kept[logical] = entry


def manifest_encodings(
    variants: Mapping[str, Mapping[str, list[Any]]], hashed_names: Mapping[str, str]
) -> Mapping[str, dict[str, dict[str, Any]]]:
    """Per logical path, the variants of its hashed file, as the corral manifest lists them:
    a view of the variants table, each entry made when the manifest asks for it (as a
    dictionary of dictionaries the large corpus's took 34 MiB while the manifest was made)."""
    return _Encodings(variants, hashed_names)


class _Encodings(Mapping[str, dict[str, dict[str, Any]]]):
    """:func:`manifest_encodings`: no copy of the variants table."""

    def __init__(
        self, variants: Mapping[str, Mapping[str, list[Any]]], hashed_names: Mapping[str, str]
    ) -> None:
        self._variants, self._hashed = variants, hashed_names

    def __getitem__(self, logical: str) -> dict[str, dict[str, Any]]:
        found = self._variants.get(self._hashed[logical])
        if not found:
            raise KeyError(logical)
        return {
            enc: {"path": rel, "size": size, "integrity": sri}
            for enc, (rel, size, sri) in sorted(found.items())
        }

    def __iter__(self) -> Iterator[str]:
        return (logical for logical, hashed in self._hashed.items() if self._variants.get(hashed))

    def __len__(self) -> int:
        return sum(1 for _ in self)
