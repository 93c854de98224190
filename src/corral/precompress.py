"""The compression stage of a run: gzip, brotli and zstd variants of published files.

Every content the release publishes (originals and hashed copies) is compressed
once per encoding and level by :mod:`corral.compress`, whose content-addressed
cache lives in ``ROOT/.corral/cache``; a variant is staged as a hard link to its
cache entry (both are inside the target, never linked to a source). Variants
are named ``<file>.gz``, ``<file>.br`` and ``<file>.zst`` next to the file they
encode, are published before the manifests, and belong to the release like any
other file, so they are kept and pruned with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from corral.publish import LocalTarget, Staged
from corral.report import Progress
from corral.state import State

if TYPE_CHECKING:
    from corral.compress import CompressionOptions

__all__ = [
    "Compressed",
    "Content",
    "all_files_raw",
    "compress_stage",
    "manifest_encodings",
    "nothing_to_do",
    "options_key",
]


class Content(NamedTuple):
    """A file of the release: its content digest, somewhere to read it, and its size."""

    digest: str
    path: str
    size: int


@dataclass(slots=True)
class Compressed:
    """The variants of the release: what they are, and which must be staged."""

    variants: dict[str, dict[str, list[Any]]] = field(
        default_factory=dict
    )  # file -> enc -> [rel, size, sri]
    files: dict[str, str] = field(default_factory=dict)  # variant path -> integrity (its id)
    staged: list[Staged] = field(default_factory=list)
    computed: int = 0
    cache_hits: int = 0
    changed: bool = False  # the set of variants differs from the last run's


def compress_stage(
    options: CompressionOptions,
    contents: Mapping[str, Content],
    state: State,
    intact: set[str],
    *,
    target: LocalTarget,
    progress: Progress | None = None,
) -> Compressed:
    """Compress every content that needs it (cache first) and stage missing variants."""
    from corral.compress import CompressionCache, CompressJob, compress_many  # noqa: PLC0415
    from corral.compress.encoders import EXTENSIONS  # noqa: PLC0415

    wanted = {
        relpath: content
        for relpath, content in contents.items()
        if options.skip_reason(relpath, content.size) is None
    }
    jobs: dict[str, CompressJob] = {}
    for content in wanted.values():
        jobs.setdefault(
            content.digest, CompressJob(content.digest, Path(content.path), content.size)
        )
    cache = CompressionCache(target.state_dir.path / "cache")

    def report(done: int, total: int) -> None:
        if progress is not None:
            progress("compress", done, total)

    run = compress_many(list(jobs.values()), options, cache, progress=report)
    by_digest = {result.job.digest: result for result in run}
    out = Compressed(computed=run.computed, cache_hits=run.cache_hits)
    for relpath, content in sorted(wanted.items()):
        result = by_digest[content.digest]
        for variant in result.variants:
            vrel = relpath + EXTENSIONS[variant.encoding]
            out.variants.setdefault(relpath, {})[variant.encoding] = [
                vrel,
                variant.size,
                variant.integrity,
            ]
            out.files[vrel] = variant.integrity
            record = state.targets.get(vrel)
            if vrel in intact and record is not None and record.digest == variant.integrity:
                continue
            out.staged.append(target.stage_link(vrel, str(variant.path), variant.integrity))
    out.changed = out.variants != state.variants
    return out


def options_key(options: CompressionOptions) -> str:
    """A stable text for the options (set order never changes it), to notice a change."""
    import dataclasses  # noqa: PLC0415
    import json  # noqa: PLC0415

    values = dataclasses.asdict(options)
    values["skip_extensions"] = sorted(values["skip_extensions"])
    return json.dumps(values, sort_keys=True)


def manifest_encodings(
    variants: Mapping[str, Mapping[str, list[Any]]], hashed_names: Mapping[str, str]
) -> dict[str, dict[str, dict[str, Any]]]:
    """Per logical path, the variants of its hashed file, as the corral manifest lists them."""
    encodings: dict[str, dict[str, dict[str, Any]]] = {}
    for logical, hashed in hashed_names.items():
        found = variants.get(hashed)
        if found:
            encodings[logical] = {
                enc: {"path": rel, "size": size, "integrity": sri}
                for enc, (rel, size, sri) in sorted(found.items())
            }
    return encodings


def all_files_raw(variants: Mapping[str, Mapping[str, list[Any]]]) -> dict[str, str]:
    """Variant path -> integrity, from the state's record of the last run's variants."""
    return {rel: sri for found in variants.values() for rel, _size, sri in found.values()}


def nothing_to_do(state: State, intact: set[str]) -> bool:
    """Every variant the last run made is still in place."""
    return all(
        rel in intact for found in state.variants.values() for rel, _size, _sri in found.values()
    )
