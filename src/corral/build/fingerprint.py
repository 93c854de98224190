"""The fingerprint stage: hashed names, rewritten references, the hashed copies staged.

Runs after the sources were examined (every file's sha256 is known; files read this run
also have their md5 and SRI integrity) and before anything is published. The engine
(:mod:`corral.fingerprint`) is pure; this stage feeds it what the state remembers,
stages the hashed files whose content is not already in the target, and returns
:class:`Hashed`. The release's manifests are made once the variants are known
(:mod:`corral.build.manifests`, called by :mod:`corral.build.derive`).
"""

from __future__ import annotations

from collections.abc import Iterator, KeysView, Mapping, Set
from dataclasses import replace
from typing import TYPE_CHECKING, Any, NamedTuple

from corral.build.compress import compression_key
from corral.build.manifests import Manifests, manifest_names
from corral.build.plan import Inputs
from corral.build.stage import Staging
from corral.config import Config
from corral.digest import Digests
from corral.errors import BuildError, Problem
from corral.guards import ChangedWhileCopied, ChangedWhileRead, read_exactly
from corral.loadpath import LoadPath
from corral.state import State
from corral.targets.base import Staged, Target

if TYPE_CHECKING:
    from corral.fingerprint import FileFacts, Fingerprint, FingerprintResult
    from corral.report import Report
    from corral.workers import WorkerPool

__all__ = [
    "Hashed",
    "fingerprint_key",
    "fingerprint_release",
    "located",
    "report_fingerprints",
]


class Hashed(NamedTuple):
    """What the fingerprint stage decided and staged (and, once made, the manifests)."""

    fingerprints: dict[str, Fingerprint]
    files: dict[str, str]  # hashed copies (+ manifests, once made) -> digest
    staged: tuple[Staged, ...] = ()  # hashed copies, to publish first
    manifests: tuple[Staged, ...] = ()  # to publish last
    manifest: str | None = None  # corral manifest of this release, if made (a draft's path)
    changed: bool = False  # some hashed name or content differs from the last run
    result: FingerprintResult | None = None
    options_key: str = ""  # what the fingerprints depend on besides the files

    def with_manifests(self, made: Manifests) -> Hashed:
        """The same outcome with the release's manifests added."""
        return self._replace(
            files={**self.files, **made.files},
            manifests=tuple(made.staged),
            manifest=made.manifest,
        )


def fingerprint_release(
    inputs: Inputs, staging: Staging, *, sources_changed: bool, pool: WorkerPool | None
) -> Hashed:
    """Fingerprint every file (or, when nothing changed, reuse the last run's names).

    The records are reused even then when the compression options changed (turned on,
    off, other levels): the manifests list other variants, so they are made again.
    """
    config, target = inputs.config, inputs.target
    compression = compression_key(config.compression_options()) if config.compress else ""
    remake = target is not None and compression != inputs.state.compression
    with inputs.clock("fingerprint"):
        return _fingerprint(
            inputs, staging, sources_changed=sources_changed, pool=pool, remake_manifests=remake
        )


def report_fingerprints(report: Report, hashed: Hashed | None, inputs: Inputs) -> None:
    """What the report shows of the files fingerprinted this run."""
    result = hashed.result if hashed is not None else None
    if result is None:
        return
    report.fingerprinted = result.processed
    report.rewrites = [(r.logical, r.line, r.column, r.old, r.new) for r in result.rewrites]
    report.cycles = [list(c) for c in result.cycles]
    report.warnings.extend(located(w, inputs.loadpath) for w in result.warnings)


def _fingerprint(
    inputs: Inputs,
    staging: Staging,
    *,
    sources_changed: bool,
    pool: WorkerPool | None,
    remake_manifests: bool,
) -> Hashed:
    """Fingerprint every collected file; stage what the target lacks.

    ``remake_manifests``: the release's manifests must be made again although no file
    changed (the variants they list did), so the records are needed (they are reused
    from the state, nothing is read).

    ``staging.digests`` holds every file's sha256, ``staging.read`` the full digests of
    the files read this run. Raises :class:`BuildError` for missing references (under
    the error policy) and undecodable text, before anything is published. ``pool``
    holds what worker processes found in the text files meanwhile.
    """
    config, loadpath, state, intact = inputs.config, inputs.loadpath, inputs.state, inputs.intact
    target, digests = inputs.target, staging.digests
    key = fingerprint_key(config)
    names = manifest_names(config)
    if (
        not remake_manifests
        and not sources_changed
        and key == state.hashing
        and _nothing_to_do(state, intact, loadpath, names)
    ):
        return Hashed({}, _release_files_raw(state.fingerprints, state, names), options_key=key)
    # Imported here: a run with nothing to fingerprint (the no-change case) never loads
    # the engine and its tokenizers.
    from corral.fingerprint import FileFacts, fingerprint  # noqa: PLC0415

    known, previous = _parse(state, intact)
    files = _Facts(loadpath, digests, staging.read, FileFacts)

    def read(logical: str) -> bytes:
        found = loadpath.files[logical]
        return read_exactly(found.path, found.size, logical)

    targets = state.targets
    staged: list[Staged] = []

    def needs_copy(fp: Fingerprint) -> bool:
        """Whether the target lacks ``fp``'s hashed copy (a pass-through file has none)."""
        name = fp.hashed
        if name == fp.logical:
            return False
        record = targets.get(name)
        return record is None or record.digest != fp.sha256 or name not in intact

    def sink(fp: Fingerprint, data: bytes) -> None:
        # A rewritten file's bytes go to the target at once, so the run holds one
        # file's new bytes at a time (a staged file is discarded if the run fails).
        if target is not None and needs_copy(fp):
            staged.append(target.stage_bytes(fp.hashed, data, fp.sha256))

    try:
        found = pool.results() if pool is not None else None
        unchanged = _unchanged(state, key, loadpath, digests)
        options = config.fingerprint_options()
        made = pool.made if pool is not None else None
        result = fingerprint(
            files, read, previous, options, found, unchanged=unchanged, made=made, sink=sink
        )
    except ChangedWhileRead as exc:
        raise BuildError([exc.problem()]) from None
    except OSError as exc:
        raise BuildError(
            [
                Problem(
                    "unreadable",
                    f"can't read a file to fingerprint it: {exc.strerror or exc}",
                    path=exc.filename if isinstance(exc.filename, str) else None,
                    hint="make it readable, or add an ignore pattern for it",
                )
            ]
        ) from exc
    if result.problems:
        raise BuildError([located(p, loadpath) for p in result.problems])
    fingerprints = result.fingerprints
    changed = sources_changed or state.release is None or _differs(known, fingerprints)
    release: dict[str, str] = {}
    missing: list[Fingerprint] = []  # copies of sources the target lacks
    for logical, fp in fingerprints.items():
        if fp.hashed == logical:
            continue  # pass-through: the original already carries a content hash
        release[fp.hashed] = fp.sha256
        if not fp.rewritten and needs_copy(fp):
            missing.append(fp)
    if target is not None:  # the rewritten ones were staged as they were made; then these
        staged.extend(_stage_copies(target, loadpath, missing))
    return Hashed(fingerprints, release, tuple(staged), (), None, changed, result, key)


def _stage_copies(target: Target, loadpath: LoadPath, missing: list[Fingerprint]) -> list[Staged]:
    """Stage the hashed copies of unrewritten sources the target lacks, in logical order."""
    staged: list[Staged] = []
    for fp in sorted(missing, key=lambda fp: fp.logical):
        source = loadpath.files[fp.logical].path
        try:
            staged.append(target.stage(fp.hashed, source, fp.sha256, None))
        except ChangedWhileCopied as exc:
            raise BuildError([exc.problem()]) from None
    return staged


class _Facts(Mapping[str, "FileFacts"]):
    """What the engine gets to know of each file, made on first use: the engine asks
    only about the files it processes, and a run that changed 1% processes about 1%."""

    def __init__(
        self,
        loadpath: LoadPath,
        digests: Mapping[str, str],
        read_digests: Mapping[str, Digests],
        make: type[FileFacts],
    ) -> None:
        self._files = loadpath.files
        self._digests = digests
        self._read = read_digests
        self._make = make
        self._made: dict[str, FileFacts] = {}

    def __getitem__(self, logical: str) -> FileFacts:
        facts = self._made.get(logical)
        if facts is None:
            found = self._files[logical]  # KeyError for a file that is not collected
            read = self._read.get(logical)
            facts = self._made[logical] = self._make(
                logical,
                self._digests[logical],
                found.size,
                read.md5 if read is not None else None,
                read.integrity if read is not None else None,
            )
        return facts

    def __contains__(self, logical: object) -> bool:
        return logical in self._files

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)

    def keys(self) -> KeysView[str]:
        return self._files.keys()


def fingerprint_key(config: Config) -> str:
    """A stable text of everything besides the files that fingerprints depend on."""
    import json  # noqa: PLC0415

    from corral import __version__  # noqa: PLC0415 - a new corral may name files differently

    return json.dumps(
        {
            "corral": __version__,
            "url": config.url,
            "manifest_name": config.manifest_name,
            "modules": config.modules,
            "missing": dict(sorted(config.missing.items())),
            "accept_missing": list(config.accept_missing),
            "passthrough": None if config.passthrough is None else list(config.passthrough),
            "integrity": config.integrity,
        },
        sort_keys=True,
    )


def located(problem: Problem, loadpath: LoadPath) -> Problem:
    """Name the source file a problem is in, not only its logical path."""
    found = loadpath.files.get(problem.logical_path or "")
    return (
        replace(problem, path=found.path) if found is not None and problem.path is None else problem
    )


def _nothing_to_do(
    state: State, intact: Set[str], loadpath: LoadPath, names: tuple[str, str]
) -> bool:
    """Every fingerprint is known, and every hashed file and manifest is in place."""
    raw = state.fingerprints
    if state.release is None or raw.keys() != loadpath.files.keys():
        return False
    if not all(name in intact for name in names):
        return False
    return all(_field(entry, "hashed") in intact for entry in raw.values())


def _field(entry: Any, name: str) -> Any:
    """A field of a state's fingerprint: a record, or the JSON of a damaged one."""
    return entry.get(name) if type(entry) is dict else getattr(entry, name)


def _release_files_raw(raw: dict[str, Any], state: State, names: tuple[str, str]) -> dict[str, str]:
    files = {
        _field(entry, "hashed"): _field(entry, "sha256")
        for logical, entry in raw.items()
        if _field(entry, "hashed") != logical
    }
    for name in names:
        files[name] = state.targets[name].digest
    return files


def _parse(state: State, intact: Set[str]) -> tuple[dict[str, Fingerprint], dict[str, Fingerprint]]:
    """Last run's fingerprints, and those of them whose hashed file is still in place
    (the others are redone)."""
    from corral.fingerprint import Fingerprint  # noqa: PLC0415

    parse, targets = Fingerprint.from_json, state.targets
    known: dict[str, Fingerprint] = {}
    previous: dict[str, Fingerprint] = {}
    for logical, raw in state.fingerprints.items():
        try:
            fp = known[logical] = raw if type(raw) is Fingerprint else parse(raw)
        except ValueError:
            continue  # a damaged record: recompute it
        name = fp.hashed
        if name == logical or (
            name in intact
            and (record := targets.get(name)) is not None
            and record.digest == fp.sha256
        ):
            previous[logical] = fp
    return known, previous


def _unchanged(state: State, key: str, loadpath: LoadPath, digests: Mapping[str, str]) -> list[str]:
    """The files whose fingerprint record was made from their current bytes, with the
    current options and set of files (see the engine's ``unchanged``); none if unsure.

    A state's fingerprints were recorded together with its sources, by one run with
    the options ``state.hashing`` names (which includes corral's version).
    """
    if key != state.hashing or state.release is None:
        return []
    if state.fingerprints.keys() != loadpath.files.keys():
        return []
    sources = state.sources
    return [
        logical
        for logical in loadpath.files
        if (record := sources.get(logical)) is not None and record.digest == digests[logical]
    ]


def _differs(previous: Mapping[str, Fingerprint], current: Mapping[str, Fingerprint]) -> bool:
    if previous.keys() != current.keys():
        return True
    for logical, fp in current.items():
        prev = previous[logical]
        # The integrity too: the same bytes get another one when its hash is changed.
        if prev is not fp and (prev.hashed, prev.sha256, prev.integrity) != (
            fp.hashed,
            fp.sha256,
            fp.integrity,
        ):
            return True
    return False
