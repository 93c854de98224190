"""The records the fingerprinting engine takes and returns.

:class:`FileFacts` is what the pipeline already knows about each collected
file; :class:`Fingerprint` is the outcome per logical path, which the state
keeps (``to_json``/``from_json``) so that the next run can reuse it;
:class:`FingerprintResult` is one run's outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

from corral.errors import Problem
from corral.references import KINDS, Kind

_T = TypeVar("_T")

__all__ = [
    "FileFacts",
    "Fingerprint",
    "FingerprintResult",
    "Missing",
    "Rewrite",
    "records_from_json",
    "share_logical",
]


@dataclass(frozen=True, slots=True)
class FileFacts:
    """What the pipeline knows of one collected file (all about its source bytes)."""

    logical: str  # e.g. "css/app.css"
    digest: str  # SHA-256 hex of the source bytes
    size: int
    md5: str | None = None  # MD5 hex of the source bytes, if computed while reading
    integrity: str | None = None  # "sha256-<base64>" (or as configured) of them, likewise


@dataclass(frozen=True, slots=True)
class Missing:
    """A reference to a file that is not collected, kept so a reused file reports it again."""

    kind: Kind
    reference: str  # the reference as written (escapes resolved)
    resolved: str  # the logical path it resolves to
    line: int
    column: int

    def to_json(self) -> list[Any]:
        return [self.kind, self.reference, self.resolved, self.line, self.column]

    @classmethod
    def from_json(cls, data: Any) -> Missing:
        """Rebuild a record from :meth:`to_json`'s list; raise ValueError on a bad shape."""
        if not isinstance(data, list) or len(data) != 5:
            raise ValueError(f"not a missing reference record: {data!r}")
        kind, reference, resolved, line, column = data
        if kind not in KINDS:
            raise ValueError(f"unknown reference kind {kind!r}")
        _check(reference, str)
        _check(resolved, str)
        _check(line, int)
        _check(column, int)
        return cls(kind, reference, resolved, line, column)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """The outcome for one logical path; equal ``inputs`` means it can be reused as is.

    ``hashed`` equals ``logical`` for pass-through files. ``sha256``, ``size``
    and ``integrity`` describe the hashed file's bytes (the rewritten ones when
    ``rewritten``); ``md5`` is of the source bytes. ``deps`` are the collected
    files it references (sorted); ``missing`` the references it tolerated to
    files that are not collected (so a reused file reports them again).
    ``inputs`` is ``"<own>:<links>"``: ``own`` hashes the engine version, the
    logical path, the source digest and the options that shape the output;
    ``links`` hashes the hashed name (or absence) of every referenced file.
    """

    logical: str
    hashed: str
    rewritten: bool
    sha256: str
    size: int
    integrity: str
    md5: str
    deps: tuple[str, ...]
    inputs: str
    missing: tuple[Missing, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict; :meth:`from_json` turns it back into an equal record."""
        data: dict[str, Any] = {
            "logical": self.logical,
            "hashed": self.hashed,
            "rewritten": self.rewritten,
            "sha256": self.sha256,
            "size": self.size,
            "integrity": self.integrity,
            "md5": self.md5,
            "deps": list(self.deps),
            "inputs": self.inputs,
        }
        if self.missing:
            data["missing"] = [m.to_json() for m in self.missing]
        return data

    @classmethod
    def from_json(cls, data: Any) -> Fingerprint:
        """Rebuild a record from :meth:`to_json`'s dict; raise ValueError on a bad shape.

        A run parses every record of the last one (10,914 on the benchmark's full
        corpus), so the checks are exact type tests (JSON gives no subclasses).
        """
        if type(data) is not dict:
            raise ValueError(f"not a fingerprint record: {data!r}")
        try:
            logical = data["logical"]
            hashed = data["hashed"]
            rewritten = data["rewritten"]
            sha256 = data["sha256"]
            size = data["size"]
            integrity = data["integrity"]
            md5 = data["md5"]
            deps = data["deps"]
            inputs = data["inputs"]
        except KeyError as exc:
            raise ValueError(f"fingerprint record without {exc}") from None
        if not (
            type(logical) is str
            and type(hashed) is str
            and type(rewritten) is bool
            and type(sha256) is str
            and type(size) is int  # not a bool
            and type(integrity) is str
            and type(md5) is str
            and type(inputs) is str
            and type(deps) is list
            and all(type(d) is str for d in deps)
        ):
            raise ValueError(f"not a well-formed fingerprint record: {data!r}")
        missing = data.get("missing")
        if missing is None:
            found: tuple[Missing, ...] = ()
        elif type(missing) is list:
            found = tuple(Missing.from_json(m) for m in missing)
        else:
            raise ValueError("missing must be a list")
        if cls is not Fingerprint:  # a subclass gets its own __init__
            return cls(
                logical, hashed, rewritten, sha256, size, integrity, md5, tuple(deps), inputs, found
            )
        # The frozen dataclass's __init__ sets each field through object.__setattr__: half
        # the cost of parsing a record. The slots' own setters do the same, directly.
        record = _new(Fingerprint)
        _set_logical(record, logical)
        _set_hashed(record, hashed)
        _set_rewritten(record, rewritten)
        _set_sha256(record, sha256)
        _set_size(record, size)
        _set_integrity(record, integrity)
        _set_md5(record, md5)
        _set_deps(record, tuple(deps))
        _set_inputs(record, inputs)
        _set_missing(record, found)
        return record


_new = object.__new__
(
    _set_logical,
    _set_hashed,
    _set_rewritten,
    _set_sha256,
    _set_size,
    _set_integrity,
    _set_md5,
    _set_deps,
    _set_inputs,
    _set_missing,
) = (
    getattr(Fingerprint, name).__set__
    for name in (
        "logical",
        "hashed",
        "rewritten",
        "sha256",
        "size",
        "integrity",
        "md5",
        "deps",
        "inputs",
        "missing",
    )
)


class Rewrite(NamedTuple):
    """One reference changed in one file, for ``-v`` listings."""

    logical: str
    line: int
    column: int
    old: str
    new: str


@dataclass(slots=True)
class FingerprintResult:
    """What one :func:`~corral.fingerprint.fingerprint` run found and made.

    * ``fingerprints``: one per collected file.
    * ``contents``: the new bytes of each file processed this run whose
      hashed copy differs from its source (``rewritten``); every other hashed
      file is a copy of its source.
    * ``processed``: the files whose fingerprint was computed this run rather
      than reused from ``previous`` (sorted).
    * ``rewrites``: every reference changed this run, in file and text order.
    * ``problems``: errors (missing references under the ``"error"`` policy,
      text that is not UTF-8); a run with problems must not be published.
    * ``warnings``: missing references under the ``"warn"`` policy.
    * ``cycles``: the reference cycles found, each a sorted tuple of paths.
    """

    fingerprints: dict[str, Fingerprint] = field(default_factory=dict)
    contents: dict[str, bytes] = field(default_factory=dict)
    processed: list[str] = field(default_factory=list)
    rewrites: list[Rewrite] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    cycles: list[tuple[str, ...]] = field(default_factory=list)


def _check(value: Any, kind: type[_T]) -> _T:
    """Return ``value`` if it is a ``kind`` (a bool is not an int here), else raise ValueError."""
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"expected {kind.__name__}, found {value!r}")
    return value


def records_from_json(into: dict[str, Any], chunk: dict[str, Any]) -> None:
    """Parse a chunk of the state's fingerprints (logical path -> :meth:`Fingerprint.to_json`)
    into ``into``; a damaged one is kept as it was read (the run that reads it redoes it)."""
    parse = Fingerprint.from_json
    for logical, raw in chunk.items():
        try:
            into[logical] = share_logical(parse(raw), logical)
        except ValueError:
            into[logical] = raw


def share_logical(record: Fingerprint, logical: str) -> Fingerprint:
    """``record``, naming its path by ``logical`` (an equal string the run holds anyway):
    a record parsed from the state or sent back by a worker process would otherwise hold
    a copy of every path (5 MiB on the large corpus). For a record nothing else holds yet."""
    if record.logical == logical:
        _set_logical(record, logical)
    return record
