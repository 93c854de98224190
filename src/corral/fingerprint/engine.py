"""The fingerprinting run: plan the reference graph, then name every file, dependencies first.

:func:`fingerprint` is pure: it reads source bytes only through the ``read``
callable it is given and writes nothing. See the package docstring for the
semantics (order, cycles, pass-through, incremental reuse).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from corral.errors import DecodeError
from corral.fingerprint.graph import components, is_cycle
from corral.fingerprint.model import FileFacts, Fingerprint, FingerprintResult, Missing
from corral.fingerprint.names import group_member_hash, hashed_name
from corral.fingerprint.options import FingerprintOptions
from corral.fingerprint.records import copied_record, opaque_record, scanned_record
from corral.fingerprint.report import decode_problem, name_clashes, report_missing
from corral.fingerprint.scan import Found, Scan, adjustable, rebuild, render, scan, scannable

__all__ = ["ENGINE_VERSION", "fingerprint", "plain_record"]

#: Part of every cache key: bump it whenever the same inputs would give other outputs.
ENGINE_VERSION = "corral-fingerprint-1"
_GROUP_DOMAIN = b"corral-cycle-1\0"
# Link states in a cache key (never a hashed name: those hold no NUL).
_MISSING = "\0missing"
_EXISTS = "\0exists"
_IN_CYCLE = "\0cycle"


def fingerprint(
    files: Mapping[str, FileFacts],
    read: Callable[[str], bytes],
    previous: Mapping[str, Fingerprint],
    options: FingerprintOptions,
    found: Mapping[str, Found] | None = None,
    *,
    unchanged: Collection[str] = (),
    made: Mapping[str, Fingerprint] | None = None,
    sink: Callable[[Fingerprint, bytes], None] | None = None,
) -> FingerprintResult:
    """Give every file in ``files`` its hashed name and, for CSS/JS, its rewritten bytes.

    ``read(logical)`` returns a file's source bytes; it is called only for
    files that must be (re)processed, at most once each, and its exceptions
    propagate. ``previous`` is the last run's outcome (may be empty): a file
    whose cache key (:attr:`Fingerprint.inputs`) is unchanged is reused
    without reading it. Missing references and text that is not UTF-8 are
    all collected into the result's ``problems``/``warnings``, never raised.
    ``found`` holds what :func:`~corral.fingerprint.scan.find` already found in
    some files (elsewhere, e.g. in worker processes): such a file is not
    tokenized again, and one that names no collected file is not even read.

    ``unchanged`` names files the caller knows to be exactly as they were when
    their ``previous`` record was made: the same source bytes, with the same
    options, engine version and set of collected files. Such a file's record
    is reused without computing its cache key, unless a file it references,
    directly or not, is not in ``unchanged``. The result is the same as
    without ``unchanged``; only the work differs (a run that changed 1% of a
    project's files computes about 1% of the keys).

    ``made`` holds records that :func:`plain_record` already made for this run's
    bytes of some files (elsewhere, e.g. in the worker process that read them). They
    are taken as they are, for the same result with less work here.

    ``sink(fingerprint, data)``, if given, receives each rewritten file's new bytes as
    soon as they are final, instead of the result's ``contents`` keeping them all: a
    caller that writes them out at once holds one file's bytes at a time, not every
    rewritten file's (tens of megabytes on a large project).
    """
    run = _Run(files, read, previous, options, found or {}, sink)
    return run.run(run.settled(unchanged), made or {})


def plain_record(facts: FileFacts, options: FingerprintOptions) -> Fingerprint | None:
    """The record :func:`fingerprint` makes for a file it does not scan (an image, a
    font: it references nothing), from the digests read with it; None for a file it
    scans, or whose md5 and integrity ``facts`` lack."""
    logical = facts.logical
    if scannable(logical) or facts.md5 is None or facts.integrity is None:
        return None
    passthrough = options.is_passthrough(logical)
    own = _key(ENGINE_VERSION, logical, facts.digest, str(passthrough), options.integrity)
    inputs = f"{own}:{_NO_LINKS}"
    return copied_record(facts, facts.md5, facts.integrity, passthrough=passthrough, inputs=inputs)


@dataclass(slots=True)
class _Plan:
    """What one file's cache key and graph edges are made of."""

    own: str
    deps: tuple[str, ...]  # collected files it references
    missing: tuple[Missing, ...]  # references to files that are not collected
    adjustable: bool


class _Run:
    def __init__(
        self,
        files: Mapping[str, FileFacts],
        read: Callable[[str], bytes],
        previous: Mapping[str, Fingerprint],
        options: FingerprintOptions,
        found: Mapping[str, Found],
        sink: Callable[[Fingerprint, bytes], None] | None = None,
    ) -> None:
        self.files = files
        self.sink = sink
        self.read = read
        self.previous = previous
        self.options = options
        self.sri = options.integrity
        self.found = found
        #: Found to need no rewriting (they name no collected file, or are source maps or
        #: pass-through files), their digests known: copied as is, never read.
        self.as_is: set[str] = set()
        self.result = FingerprintResult()
        self.plans: dict[str, _Plan] = {}
        self.scans: dict[str, Scan] = {}  # read and scanned, not yet processed
        self.hashed: dict[str, str] = {}

    def settled(self, unchanged: Collection[str]) -> set[str]:
        """The files of ``unchanged`` that reference (transitively) only such files."""
        previous, files = self.previous, self.files
        settled = {f for f in unchanged if f in previous and f in files}
        if not settled:
            return settled
        referrers: dict[str, list[str]] = {}
        for logical in settled:
            for dep in previous[logical].deps:
                referrers.setdefault(dep, []).append(logical)
        # Whatever references a file that is not settled is not settled either.
        work = [dep for dep in referrers if dep not in settled]
        while work:
            for referrer in referrers.get(work.pop(), ()):
                if referrer in settled:
                    settled.discard(referrer)
                    work.append(referrer)
        return settled

    def run(
        self, settled: Collection[str] = (), made: Mapping[str, Fingerprint] | None = None
    ) -> FingerprintResult:
        edges: dict[str, list[str]] = {}
        made = made or {}
        for logical in sorted(self.files):
            if logical in settled:
                prev = self._reuse(self.previous[logical])
                if prev.deps and adjustable(logical, self.options):
                    edges[logical] = list(prev.deps)  # only to report the cycles it is in
            elif logical in made and self._take(made[logical]):
                continue
            else:
                self.plans[logical] = self._plan(logical)
        # Files whose references are not rewritten depend on nothing: they go first.
        for logical, plan in self.plans.items():
            if plan.adjustable:
                targets = (*plan.deps, *(m.resolved for m in plan.missing))
                edges[logical] = [t for t in targets if t in self.files]
            else:
                self._single(logical)
        for component in components(edges):
            cycle = is_cycle(component, edges)
            if cycle:
                self.result.cycles.append(component)
            if component[0] in settled:
                continue  # a settled file references only settled files: so is all of it
            if cycle:
                self._group(component)
            else:
                self._single(component[0])
        result = self.result
        for logical in sorted(result.fingerprints):
            missing = result.fingerprints[logical].missing
            report_missing(logical, missing, self.options, result, self.files)
        result.problems.extend(name_clashes(result.fingerprints))
        result.processed.sort()
        result.rewrites.sort()
        return result

    # -- planning -------------------------------------------------------------------------

    def _plan(self, logical: str) -> _Plan:
        """Know a file's references: from ``previous`` if its content is unchanged, else scan it."""
        facts = self.files[logical]
        options = self.options
        can_adjust = adjustable(logical, options)
        if not scannable(logical):
            passthrough = str(options.is_passthrough(logical))
            own = _key(ENGINE_VERSION, logical, facts.digest, passthrough, options.integrity)
            return _Plan(own, (), (), False)
        own = _key(
            ENGINE_VERSION,
            logical,
            facts.digest,
            options.url,
            str(options.modules),
            str(can_adjust),
            options.integrity,
        )
        prev = self.previous.get(logical)
        if prev is not None and prev.inputs.partition(":")[0] == own:
            return _Plan(own, prev.deps, prev.missing, can_adjust)
        early = self.found.get(logical)
        if early is not None and early.digest == facts.digest:
            if (
                (not early.links or not can_adjust)
                and facts.md5 is not None
                and facts.integrity is not None
            ):
                self.as_is.add(logical)
            return _Plan(own, early.deps(), early.missing, can_adjust)
        scanned = self._scan(logical)
        if scanned is None:
            return _Plan(own, (), (), False)
        return _Plan(own, scanned.deps(), tuple(scanned.missing), can_adjust)

    def _scan(self, logical: str) -> Scan | None:
        """Read and scan ``logical`` once; None (and a problem) if it is not UTF-8."""
        if logical in self.scans:
            return self.scans[logical]
        if logical in self.result.fingerprints:
            return None  # not UTF-8: already reported and stored as opaque bytes
        data = self.read(logical)
        early = self.found.get(logical)
        try:
            rebuilt = rebuild(logical, data, early) if early is not None else None
            scanned = rebuilt or scan(logical, data, self.files.keys(), self.options)
            self.scans[logical] = scanned
        except DecodeError as exc:
            # Fatal where references must be rewritten; a warning where they are only checked.
            must_rewrite = adjustable(logical, self.options)
            problem = decode_problem(logical, exc, error=must_rewrite)
            (self.result.problems if must_rewrite else self.result.warnings).append(problem)
            passthrough = self.options.is_passthrough(logical)
            record = opaque_record(
                logical, data, passthrough=passthrough, inputs="", sri_algorithm=self.sri
            )
            self._store(record, data)
            return None
        return scanned

    def _inputs(self, logical: str, group: tuple[str, ...] = ()) -> str:
        """The cache key of ``logical`` now, its cycle's members marked as such."""
        plan = self.plans[logical]
        if not plan.deps and not plan.missing:
            return f"{plan.own}:{_NO_LINKS}"  # most files (images, fonts) reference nothing
        targets = sorted({*plan.deps, *(m.resolved for m in plan.missing)})
        states = []
        for target in targets:
            if target in group:
                state = _IN_CYCLE
            elif target not in self.files:
                state = _MISSING
            elif plan.adjustable:
                state = self.hashed[target]
            else:
                state = _EXISTS
            states.append(f"{target}\0{state}")
        return f"{plan.own}:{_key(*states)}"

    def _reusable(self, logical: str, inputs: str) -> Fingerprint | None:
        prev = self.previous.get(logical)
        return prev if prev is not None and prev.inputs == inputs else None

    # -- naming ---------------------------------------------------------------------------

    def _single(self, logical: str) -> None:
        if logical in self.result.fingerprints:
            return  # not UTF-8: already stored as opaque bytes
        inputs = self._inputs(logical)
        prev = self._reusable(logical, inputs)
        if prev is not None:
            self._reuse(prev)
            return
        if not scannable(logical):
            self._store(self._plain(logical, inputs), None)
            return
        if logical in self.as_is:  # nothing to rewrite, digests known: a plain copy
            plan = self.plans[logical]
            self._store(self._plain(logical, inputs, plan.missing, plan.deps), None)
            return
        scanned = self._scan(logical)
        if scanned is None:
            return
        plan = self.plans[logical]
        out = scanned.data
        if plan.adjustable:
            out, rewrites = render(logical, scanned, self.hashed)
            self.result.rewrites.extend(rewrites)
        name = logical if self.options.is_passthrough(logical) else None
        self._store(scanned_record(self.files[logical], scanned, out, inputs, name, self.sri), out)

    def _group(self, members: tuple[str, ...]) -> None:
        """Name a reference cycle's members together (see the package docstring)."""
        keys = {m: self._inputs(m, members) for m in members}
        reused = [self._reusable(m, keys[m]) for m in members]
        if all(prev is not None for prev in reused):
            for prev in reused:
                if prev is not None:
                    self._reuse(prev)
            return
        scans: dict[str, Scan] = {}
        for member in members:
            scanned = self._scan(member)
            if scanned is not None:
                scans[member] = scanned
        # Out-of-group links first: members are not in self.hashed yet, so they stay as written.
        digest = hashlib.sha256(_GROUP_DOMAIN)
        for member, scanned in scans.items():
            partial, _ = render(member, scanned, self.hashed)
            digest.update(b"%s\0%d\0%s" % (member.encode(), len(partial), partial))
        group_digest = digest.hexdigest()
        for member in scans:
            self.hashed[member] = hashed_name(member, group_member_hash(group_digest, member))
        for member, scanned in scans.items():
            out, rewrites = render(member, scanned, self.hashed)
            self.result.rewrites.extend(rewrites)
            record = scanned_record(
                self.files[member], scanned, out, keys[member], self.hashed[member], self.sri
            )
            self._store(record, out)

    # -- records --------------------------------------------------------------------------

    def _take(self, fp: Fingerprint) -> bool:
        """Use a record made by :func:`plain_record` (as :meth:`_single` would have made
        it); False if it does not describe the file as ``files`` does."""
        facts = self.files[fp.logical]
        if scannable(fp.logical) or (fp.sha256, fp.size, fp.md5) != (
            facts.digest,
            facts.size,
            facts.md5,
        ):
            return False
        prev = self._reusable(fp.logical, fp.inputs)
        if prev is not None:
            self._reuse(prev)
        else:
            self._store(fp, None)
        return True

    def _reuse(self, prev: Fingerprint) -> Fingerprint:
        self.hashed[prev.logical] = prev.hashed
        self.result.fingerprints[prev.logical] = prev
        return prev

    def _store(self, fp: Fingerprint, out: bytes | None) -> None:
        self.scans.pop(fp.logical, None)  # its text is no longer needed
        self.hashed[fp.logical] = fp.hashed
        self.result.fingerprints[fp.logical] = fp
        self.result.processed.append(fp.logical)
        if out is not None and fp.rewritten:
            if self.sink is not None:
                self.sink(fp, out)
            else:
                self.result.contents[fp.logical] = out

    def _plain(
        self,
        logical: str,
        inputs: str,
        missing: tuple[Missing, ...] = (),
        deps: tuple[str, ...] = (),
    ) -> Fingerprint:
        """The record of a file copied as is, read only if its digests are unknown.

        ``missing`` and ``deps``: what a scanned file that is not rewritten references.
        """
        facts = self.files[logical]
        md5, sri = facts.md5, facts.integrity
        prev = self.previous.get(logical)
        if prev is not None and _same_source(prev, facts):
            md5 = md5 or prev.md5
            if prev.integrity.startswith(f"{self.sri}-"):  # not one of another algorithm
                sri = sri or prev.integrity
        passthrough = self.options.is_passthrough(logical)
        if md5 is None or sri is None:
            data = self.read(logical)
            return opaque_record(
                logical, data, passthrough=passthrough, inputs=inputs, sri_algorithm=self.sri
            )
        return copied_record(
            facts, md5, sri, passthrough=passthrough, inputs=inputs, missing=missing, deps=deps
        )


def _same_source(prev: Fingerprint, facts: FileFacts) -> bool:
    """Whether ``prev`` describes a copy of exactly the bytes ``facts`` describes."""
    return not prev.rewritten and (prev.sha256, prev.size) == (facts.digest, facts.size)


def _key(*parts: str) -> str:
    """A short hash of ``parts``, unambiguous: each part is prefixed with its length."""
    encoded = "".join(f"{len(part)}:{part}" for part in parts).encode("utf-8", "surrogatepass")
    return hashlib.sha256(encoded).hexdigest()[:32]


#: The links part of the key of a file that references nothing (computed once).
_NO_LINKS = _key()
