"""The compression stage: gzip, brotli and zstd variants of the release's files.

Every content the release publishes (originals and hashed copies) is compressed
once per encoding and level by :mod:`corral.compress`, through the shared,
content-addressed cache outside the target (``cache_dir``, see
:mod:`corral.compress.location`): a fresh target with a warm cache compresses
nothing. When nothing the variants depend on changed and every one is in place,
the last run's stand and nothing is compressed or read; when some files changed, the
others keep their variants as the last run recorded them (:func:`kept_variants`), and
only the changed ones are looked up, compressed and placed.

Each variant is staged from its cache entry by :mod:`corral.compress.place`: a
hard link where the cache is on the target's file system and the entry has the
variant's mode, else a reflink or a copy, each checked against the sha384 in the
entry's name; a second file with the same variant bytes links to the first one's
staged file. An entry found gone or corrupt is discarded and computed again,
never published. With ``cache = false`` the run compresses into a private
directory under the state directory's ``tmp/`` and removes it afterwards.

Variants are named ``<file>.gz``, ``<file>.br`` and ``<file>.zst`` next to the
file they encode, are published before the manifests, and belong to the
release like any other file, so they are kept and pruned with it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Set
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from corral.build.plan import Inputs
from corral.build.sink import ReleaseSink
from corral.build.stage import Staging
from corral.heap import release_free_memory
from corral.records import TargetTable, pack_record
from corral.state import State
from corral.targets.base import Staged, StateStore, Target

if TYPE_CHECKING:
    from corral.build.fingerprint import Hashed
    from corral.compress import CompressionCache, CompressionOptions, CompressJob
    from corral.compress.place import Placer
    from corral.compress.results import Variant
    from corral.config import Config

__all__ = [
    "NO_VARIANTS",
    "Content",
    "Variants",
    "all_files_raw",
    "compress_release",
    "compress_stage",
    "compression_key",
    "kept_variants",
    "nothing_to_do",
    "offer_hashed",
    "release_contents",
    "tidy_cache",
]

_T = TypeVar("_T")
_R = TypeVar("_R")


class Variants(NamedTuple):
    """The variants of a release and what making them took."""

    table: dict[str, Any]  # file -> encoding -> [path, size, sri]
    files: dict[str, str]  # variant path -> integrity
    staged: list[Staged]  # staged variants whose records only placing tells
    key: str  # the compression options in force (compression_key); "" when off
    computed: int = 0  # variants compressed this run
    cache_hits: int = 0
    #: Staged variants whose records the target knew at once (a first run's staging
    #: tree, see Target.placed_record), kept as those records instead (packed).
    recorded: TargetTable | None = None


#: A run that does not compress (or a dry run, which never does).
NO_VARIANTS = Variants({}, {}, [], "")


def compress_release(
    inputs: Inputs, staging: Staging, hashed: Hashed | None, *, sources_changed: bool
) -> Variants:
    """Compress every file of the release that needs it (from the shared cache first);
    when nothing changed and every variant is in place, the last run's stand."""
    config, state, target = inputs.config, inputs.state, inputs.target
    if not config.compress or target is None:
        return NO_VARIANTS
    options = config.compression_options()
    key = compression_key(options)
    fingerprinted = hashed is not None and hashed.result is not None
    if (
        not fingerprinted
        and key == state.compression
        and not sources_changed
        and not staging.repaired
        and not staging.staged
        and state.variants
        and nothing_to_do(state, inputs.intact)
    ):
        return Variants(state.variants, all_files_raw(state.variants), [], key)
    with inputs.clock("compress"):
        contents = release_contents(inputs, staging, hashed, target)
        early = None
        if inputs.sink is not None and hashed is not None:
            early = offer_hashed(inputs.sink, contents, hashed)
        kept = kept_variants(state, key, contents, inputs.intact, options)
        compressed = compress_stage(inputs, options, contents, target, on_variant=early, kept=kept)
        del kept
        del contents
        release_free_memory()  # the engine's answers and the placing's scratch are freed
    return Variants(
        compressed.variants,
        compressed.files,
        compressed.staged,
        key,
        compressed.computed,
        compressed.cache_hits,
        compressed.recorded if compressed.recorded else None,
    )


def release_contents(
    inputs: Inputs, staging: Staging, hashed: Hashed | None, target: Target
) -> dict[str, Content]:
    """Every file of the release (originals and hashed copies) and where to read it now."""
    loadpath = inputs.loadpath
    staged = {s.relpath: s.tmp for s in staging.staged}
    contents = {
        logical: Content(staging.digests[logical], staged.get(logical, found.path), found.size)
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
    recorded: TargetTable = field(default_factory=TargetTable)  # see Variants.recorded
    computed: int = 0
    cache_hits: int = 0
    changed: bool = False  # the set of variants differs from the last run's


def offer_hashed(
    sink: ReleaseSink, contents: Mapping[str, Content], hashed: Hashed
) -> Callable[[str, Variant], None]:
    """Offer every hashed name of the release to ``sink`` (its bytes are final once
    fingerprinted); return the callback that offers each of their variants as the
    compression makes (or finds) it. Only hashed names and theirs: what a bucket may
    receive before the build is complete (see :mod:`corral.targets.overlap`)."""
    from corral.compress.encoders import EXTENSIONS  # noqa: PLC0415

    names: dict[str, list[str]] = {}  # content digest -> the hashed names with it
    for logical, fp in sorted(hashed.fingerprints.items()):
        content = contents.get(fp.hashed)
        if fp.hashed == logical or content is None:
            continue
        names.setdefault(content.digest, []).append(fp.hashed)
        sink.offer(fp.hashed, content.path, content.digest)

    def offer_variant(digest: str, variant: Variant) -> None:
        for relpath in names.get(digest, ()):
            vrel = relpath + EXTENSIONS[variant.encoding]
            if vrel not in contents:  # the source's own file of that name wins
                sink.offer(vrel, str(variant.path), None)

    return offer_variant


def compress_stage(  # noqa: PLR0913 - the stage's inputs and two optional hooks
    inputs: Inputs,
    options: CompressionOptions,
    contents: Mapping[str, Content],
    target: Target,
    *,
    on_variant: Callable[[str, Variant], None] | None = None,
    kept: Mapping[str, dict[str, list[Any]]] | None = None,
) -> Compressed:
    """Compress every content that needs it (cache first) and stage missing variants.

    The cache is the configured shared one (``config.compression_cache_dir()``), or with
    none a private one in the target's scratch directory, removed afterwards. ``kept``:
    the last run's variants of files whose bytes did not change (:func:`kept_variants`),
    taken as they are: neither looked up nor placed.
    """
    from corral.compress.location import run_cache  # noqa: PLC0415

    with run_cache(inputs.config.compression_cache_dir(), target.scratch) as cache:
        return _stage_variants(inputs, options, target, cache, contents, on_variant, kept)


@dataclass(slots=True)
class _Place:
    """A variant to stage: its integrity, its cache entry, the content it encodes, and
    every path of the release that gets those bytes."""

    sri: str
    entry: str
    digest: str
    paths: list[str] = field(default_factory=list)


#: How many times a variant whose cache entry turned out stale is computed again.
_RETRIES = 2


def _stage_variants(  # noqa: PLR0913, PLR0915 - compress_stage's arguments and the cache; one retry loop
    inputs: Inputs,
    options: CompressionOptions,
    target: Target,
    cache: CompressionCache,
    contents: Mapping[str, Content],
    on_variant: Callable[[str, Variant], None] | None = None,
    kept: Mapping[str, dict[str, list[Any]]] | None = None,
) -> Compressed:
    """Stage the variants of the ``contents`` the options do not skip, but those ``kept``
    from the last run; never one whose name is a file of the release: a source that
    ships ``a.css.gz`` keeps it, and ``a.css`` gets no gzip variant of corral's."""
    from corral.compress import compress_many  # noqa: PLC0415
    from corral.compress.encoders import EXTENSIONS  # noqa: PLC0415
    from corral.compress.place import StaleEntry  # noqa: PLC0415

    state, intact, progress, workers = (
        inputs.state,
        inputs.intact,
        inputs.progress,
        inputs.config.jobs,
    )
    taken = frozenset(contents)
    kept = kept or {}
    wanted = {
        relpath: content
        for relpath, content in contents.items()
        if relpath not in kept and options.skip_reason(relpath, content.size) is None
    }
    jobs = _jobs(wanted)

    def report(done: int, total: int) -> None:
        if progress is not None:
            progress("compress", done, total)

    out = Compressed()
    # One Placer per run: it learns whether links and reflinks work here.
    place = partial(_place, target, _placer(inputs.config))
    done: set[str] = set()  # variant paths staged (by an earlier pass)
    pending = set(jobs)
    for attempt in range(_RETRIES + 1):
        run = compress_many(
            [jobs[d] for d in sorted(pending)],
            options,
            cache,
            workers=workers,
            progress=report,
            verify=False,  # the Placer checks every entry it places
            on_variant=on_variant,
        )
        out.computed += run.computed
        out.cache_hits += run.cache_hits
        # The engine's answers (a Variant with its cache path for every variant: 100 MiB
        # on the large corpus) go as soon as the last file of their content is grouped,
        # so that the tables made here reuse their memory.
        results = {result.job.digest: result.variants for result in run}
        del run
        todo = sorted((r, c) for r, c in wanted.items() if c.digest in pending)
        uses = Counter(content.digest for _relpath, content in todo)
        # One item per distinct variant: its cache entry, and every path that gets those
        # bytes (the first a verified copy, the others hard links to that copy, made on the
        # same thread: a hashed copy and its original share their variants).
        groups: dict[str, _Place] = {}
        for relpath, content in todo:
            uses[content.digest] -= 1
            digest = content.digest
            answers = results[digest] if uses[digest] else results.pop(digest)
            for variant in answers:
                vrel = relpath + EXTENSIONS[variant.encoding]
                if vrel in taken:
                    continue  # the source's own file of that name wins
                sri = variant.integrity
                out.variants.setdefault(relpath, {})[variant.encoding] = [vrel, variant.size, sri]
                out.files[vrel] = sri
                record = state.targets.get(vrel)
                if vrel in done or (vrel in intact and record is not None and record.digest == sri):
                    continue
                group = groups.get(sri)
                if group is None:
                    group = groups[sri] = _Place(sri, str(variant.path), content.digest)
                group.paths.append(vrel)

        del results, todo
        stale: dict[str, str] = {}  # content digest -> its stale entry
        # A group whose entry turned out stale has nothing staged: all its paths are
        # staged in a later pass, so no pass needs an earlier one's copies.
        places = list(groups.values())
        del groups  # each group is freed once placed (_map empties places)
        for group, staged, records in _map(place, places, workers):
            if not (staged or records):
                stale[group.digest] = group.entry
                continue
            out.staged.extend(staged)
            for vrel, record in records:
                out.recorded.set_packed(vrel, record)
        if not stale:
            break
        if attempt == _RETRIES:
            raise StaleEntry(f"cache entries changed while being copied, {_RETRIES + 1} times")
        for entry in stale.values():
            cache.discard(entry)  # computed again in the next pass
        pending = set(stale)
        done = {*out.recorded, *(s.relpath for s in out.staged)}
    if kept:
        for relpath, found in kept.items():
            if found:
                out.variants[relpath] = found  # the state's own lists: no copies
                out.files.update((rel, sri) for rel, _size, sri in found.values())
        out.variants = {relpath: out.variants[relpath] for relpath in sorted(out.variants)}
    out.changed = out.variants != state.variants
    return out


def kept_variants(
    state: State,
    key: str,
    contents: Mapping[str, Content],
    intact: Set[str],
    options: CompressionOptions,
) -> dict[str, dict[str, list[Any]]]:
    """The last run's variants of every file of the release that can keep them as they
    are: the same compression options (``key``), the same bytes under the same name as
    last run, every variant still in place and none of their names now a file of the
    release. A file the last run gave no variant (skipped, or not worth it) keeps that
    answer too, unless a file stood at a variant's name then (a source's own
    ``a.css.gz``, maybe gone now). Everything else is looked up and placed as usual;
    a run after a 1% change looks up 1% of the contents instead of all of them."""
    if not state.variants or key != state.compression:
        return {}
    from corral.compress.encoders import EXTENSIONS  # noqa: PLC0415

    suffixes = [EXTENSIONS[encoding] for encoding, _level in options.encodings()]
    targets, variants = state.targets, state.variants
    kept: dict[str, dict[str, list[Any]]] = {}
    for relpath, content in contents.items():
        record = targets.get(relpath)
        if record is None or record.digest != content.digest:
            continue  # new or changed bytes (or never recorded): compressed as usual
        found: dict[str, list[Any]] = variants.get(relpath, {})
        if not all(rel in intact and rel not in contents for rel, _size, _sri in found.values()):
            continue
        made = {rel for rel, _size, _sri in found.values()}
        if any(relpath + suffix not in made and relpath + suffix in targets for suffix in suffixes):
            continue  # a file stood at a variant's name: decided afresh
        kept[relpath] = found
    return kept


def _placer(config: Config) -> Placer:
    """The run's :class:`~corral.compress.place.Placer`: files get ``file_mode``, and a run
    without a shared cache (``cache = false``) links its private one's entries freely."""
    from corral.compress.place import Placer  # noqa: PLC0415

    return Placer(mode=config.file_mode, private=config.compression_cache_dir() is None)


def _jobs(wanted: Mapping[str, Content]) -> dict[str, CompressJob]:
    """One compression job per distinct content; the first name chooses the policy."""
    from corral.compress import CompressJob  # noqa: PLC0415

    jobs: dict[str, CompressJob] = {}
    for relpath, content in sorted(wanted.items()):
        jobs.setdefault(
            content.digest, CompressJob(content.digest, content.path, content.size, relpath)
        )
    return jobs


def _place(
    target: Target, placer: Placer, group: _Place
) -> tuple[_Place, list[Staged], list[tuple[str, bytes]]]:
    """Stage ``group``'s paths: the first placed from its cache entry, the others hard
    links to it. Returns the staged files, except those whose records the target knows
    already (:meth:`~corral.targets.base.Target.placed_record`): those are returned as
    their packed records (a staged file with its temporary name and identity took about
    three times the memory: 308,000 variants on the large corpus).

    Nothing is staged (two empty lists) when the cache entry turned out stale.
    """
    from corral.compress.place import StaleEntry  # noqa: PLC0415

    staged: list[Staged] = []
    records: list[tuple[str, bytes]] = []
    first: Staged | None = None
    for vrel in group.paths:
        if first is None:
            try:
                copy = partial(placer, integrity=group.sri)
                made = target.stage_with(copy, group.entry, vrel, group.sri)
            except StaleEntry:
                return group, staged, records  # nothing of it staged: computed again
            first = made
        else:
            made = target.stage_twin(vrel, first.tmp, group.sri, first.identity)
        record = target.placed_record(made)
        packed = None if record is None else pack_record(record)
        if packed is None:
            staged.append(made)
        else:
            records.append((vrel, packed))
    return group, staged, records


def _map(function: Callable[[_T], _R], items: list[_T], workers: int | None) -> Iterable[_R]:
    """``map`` on a thread pool when there is enough to share (copying is I/O and
    hashing, both outside the GIL for all but the smallest files), in a few batches per
    thread: one future per item cost more than placing a small variant. The answers come
    as each batch is done, and ``items`` is emptied: each item is freed once its answer
    is taken (a first run places 308,000 variants)."""
    from corral.compress.cpus import available_cpus  # noqa: PLC0415

    count = workers or available_cpus()
    if count < 2 or len(items) < 64:
        return map(function, items)
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    step = max(1, len(items) // (count * 8))
    batches = [items[start : start + step] for start in range(0, len(items), step)]
    items.clear()

    def run(batch: list[_T]) -> list[_R]:
        answers = [function(item) for item in batch]
        batch.clear()
        return answers

    def results() -> Iterator[_R]:
        with ThreadPoolExecutor(max_workers=count, thread_name_prefix="corral-place") as pool:
            for done in pool.map(run, batches):
                yield from done

    return results()


def compression_key(options: CompressionOptions) -> str:
    """A stable text for the options (set order never changes it), to notice a change."""
    import dataclasses  # noqa: PLC0415
    import json  # noqa: PLC0415

    values = dataclasses.asdict(options)
    values["skip_extensions"] = sorted(values["skip_extensions"])
    if options.default_levels:  # corral's own rules are part of the options in force
        from corral.compress.policy import DEFAULT_RULES  # noqa: PLC0415

        values["default_rules"] = DEFAULT_RULES
    return json.dumps(values, sort_keys=True)


def all_files_raw(variants: Mapping[str, Mapping[str, list[Any]]]) -> dict[str, str]:
    """Variant path -> integrity, from the state's record of the last run's variants."""
    return {rel: sri for found in variants.values() for rel, _size, sri in found.values()}


def nothing_to_do(state: State, intact: Set[str]) -> bool:
    """Every variant the last run made is still in place."""
    return all(
        rel in intact for found in state.variants.values() for rel, _size, _sri in found.values()
    )


def tidy_cache(store: StateStore, config: Config, *, grew: bool) -> None:
    """After a run: remove the cache older versions kept in the target's state
    directory, and bound the shared cache to ``cache_max_size`` if the run added to it."""
    from corral.compress.location import remove_legacy_cache  # noqa: PLC0415

    remove_legacy_cache(store.path)
    if not grew or config.cache_max_size is None:
        return
    cache_dir = config.compression_cache_dir()
    if cache_dir is not None:
        from corral.compress import CompressionCache  # noqa: PLC0415
        from corral.compress.location import variants_dir  # noqa: PLC0415
        from corral.compress.maintenance import prune_cache  # noqa: PLC0415

        prune_cache(CompressionCache(variants_dir(cache_dir)), max_size=config.cache_max_size)
