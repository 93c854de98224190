"""The load path: the ordered union of all sources, first source wins.

Each source is scanned once with ``os.scandir``. Ignore patterns are fnmatch globs
(as in Django) matched against a file's or directory's *name*, its path relative to
its source and its logical path — so ``js/vendor`` excludes that directory, which
Django's ``--ignore`` can't do. A pattern ending in ``/`` matches directories only.

Every duplicate logical path is recorded as a :class:`Conflict`; problems that make
a file unusable (broken symlinks, loops, unreadable directories, names a URL can't
carry, a file and a directory with the same logical path) are all collected and
returned together rather than raised one at a time.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import os
import re
import stat
from dataclasses import dataclass, field

from corral.errors import Problem
from corral.sources import ResolvedSource

__all__ = [
    "Conflict",
    "IgnoreRules",
    "LoadPath",
    "SourceFile",
    "name_clashes",
    "path_ignored",
    "scan",
]

#: Logical paths under these directories are corral's in the target: the state's place
#: in older versions (moved out by the next run) and the transient staging directory.
RESERVED = (".corral", ".corral-staging")


@dataclass(slots=True)  # not frozen: a frozen dataclass is slower to build, and scans build many
class SourceFile:
    """One file found in a source: where it is, what it's called, and its identity."""

    logical: str
    path: str
    source: int
    size: int
    mtime_ns: int
    ctime_ns: int
    ino: int
    dev: int

    @classmethod
    def of(cls, logical: str, path: str, source: int, st: os.stat_result) -> SourceFile:
        """The file at ``path`` (``st`` is its ``stat``), from source number ``source``."""
        return cls(
            logical,
            path,
            source,
            st.st_size,
            st.st_mtime_ns,
            st.st_ctime_ns,
            st.st_ino,
            st.st_dev,
        )

    @property
    def identity(self) -> tuple[int, int, int, int, int]:
        return (self.size, self.mtime_ns, self.ctime_ns, self.ino, self.dev)


@dataclass(frozen=True, slots=True)
class Conflict:
    """A logical path provided by more than one source; ``winner`` is collected."""

    logical: str
    winner: SourceFile
    shadowed: tuple[SourceFile, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "logical_path": self.logical,
            "winner": self.winner.path,
            "shadowed": [f.path for f in self.shadowed],
        }


@dataclass(slots=True)
class LoadPath:
    """The scan's result: winning files by logical path, conflicts and problems."""

    sources: list[ResolvedSource]
    files: dict[str, SourceFile] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


class IgnoreRules:
    """Compiled ignore globs (case-sensitive, like Django's ``fnmatchcase``)."""

    def __init__(self, patterns: tuple[str, ...]) -> None:
        self.patterns = patterns
        any_kind = [p for p in patterns if not p.endswith("/")]
        dirs_only = [p.rstrip("/") for p in patterns if p.endswith("/")]
        self._any = _compile(any_kind)
        self._dirs = _compile(any_kind + dirs_only)
        # Only a pattern naming a path ("js/vendor") is matched against the logical path
        # too: a name pattern (".*", "*~") must not match a source's prefix, which the
        # user chose (".well-known=DIR" collects, as Django does).
        self._any_logical = _compile([p for p in any_kind if "/" in p])
        self._dirs_logical = _compile([p for p in any_kind + dirs_only if "/" in p])

    def ignores(self, name: str, relative: str, logical: str, *, is_dir: bool) -> bool:
        """Return whether a file (or directory) is ignored by any pattern."""
        match = (self._dirs if is_dir else self._any).match
        # The three are often the same string (a file at a source's top, no prefix).
        return bool(
            match(name)
            or (relative != name and match(relative))
            or (
                logical != relative
                and (self._dirs_logical if is_dir else self._any_logical).match(logical)
            )
        )


def _compile(patterns: list[str]) -> re.Pattern[str]:
    if not patterns:
        return re.compile(r"(?!)")  # matches nothing
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))


def scan(
    sources: list[ResolvedSource], rules: IgnoreRules, forbidden: tuple[str, ...] = ()
) -> LoadPath:
    """Scan every source in order and merge them, first source wins.

    ``forbidden``: directories no source may reach (the target, corral's state): one
    found inside a source, through a link or not, is a problem, never scanned.
    """
    result = LoadPath(sources)
    shadowed: dict[str, list[SourceFile]] = {}
    files = result.files
    no_go = _identities(forbidden)
    for source in sources:
        for found in _scan_source(source, rules, result.problems, no_go):
            if found.logical in files:
                shadowed.setdefault(found.logical, []).append(found)
            else:
                files[found.logical] = found
    result.conflicts = [
        Conflict(logical, files[logical], tuple(losers))
        for logical, losers in sorted(shadowed.items())
    ]
    result.problems.extend(_file_directory_clashes(files))
    return result


def _identities(paths: tuple[str, ...]) -> frozenset[tuple[int, int]]:
    found = set()
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            continue
        found.add((st.st_dev, st.st_ino))
    return frozenset(found)


#: Files on these file systems are the kernel's, not content: never read (their ``stat``
#: says "regular file", of size 0, so the type check alone would let them through).
_PSEUDO_ROOTS = ("/proc", "/sys")
_pseudo_devices: frozenset[int] | None = None


def _pseudo() -> frozenset[int]:
    """The devices of the pseudo-file systems (those mounted apart from ``/``)."""
    global _pseudo_devices  # noqa: PLW0603 - computed once per process
    if _pseudo_devices is None:
        devices = set()
        with contextlib.suppress(OSError):
            root = os.stat("/").st_dev
            for path in _PSEUDO_ROOTS:
                with contextlib.suppress(OSError):
                    device = os.stat(path).st_dev
                    if device != root:
                        devices.add(device)
        _pseudo_devices = frozenset(devices)
    return _pseudo_devices


def _scan_source(
    source: ResolvedSource,
    rules: IgnoreRules,
    problems: list[Problem],
    no_go: frozenset[tuple[int, int]] = frozenset(),
) -> list[SourceFile]:
    if source.files is not None:
        return _listed_files(source, rules, problems)
    found: list[SourceFile] = []
    pseudo = _pseudo()
    root_stat = os.stat(source.path)
    base = f"{source.prefix}/" if source.prefix else ""
    # (directory path, path relative to the source, real directories on the way down)
    stack: list[tuple[str, str, frozenset[tuple[int, int]]]] = [
        (str(source.path), "", frozenset({(root_stat.st_dev, root_stat.st_ino)}))
    ]
    while stack:
        directory, rel_dir, ancestors = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError as exc:
            problems.append(_os_problem(exc, directory, "can't list directory"))
            continue
        for entry in entries:
            name = entry.name
            relative = rel_dir + name
            logical = base + relative
            try:
                st = entry.stat()  # follows symlinks, as Django does
            except OSError as exc:
                if rules.ignores(name, relative, logical, is_dir=False):
                    continue
                problems.append(_stat_problem(exc, entry.path, logical))
                continue
            is_dir = stat.S_ISDIR(st.st_mode)
            if rules.ignores(name, relative, logical, is_dir=is_dir):
                continue
            bad_name = _bad_name(name)
            if bad_name:
                problems.append(
                    Problem(
                        "bad-name",
                        f"file name {name!r} {bad_name}",
                        path=entry.path,
                        hint="rename it, or add an ignore pattern for it",
                    )
                )
                continue
            if is_dir:
                key = (st.st_dev, st.st_ino)
                if key in no_go:
                    problems.append(
                        Problem(
                            "target-in-source",
                            "this directory is corral's target (or its state): a source "
                            "must never contain it, or each run would collect the last one",
                            path=entry.path,
                            logical_path=logical,
                            hint="remove the link, or add an ignore pattern for it",
                        )
                    )
                    continue
                if key in ancestors:
                    problems.append(
                        Problem(
                            "symlink-loop",
                            "symbolic link loop: this directory contains itself",
                            path=entry.path,
                            logical_path=logical,
                            hint="remove the link, or add an ignore pattern for it",
                        )
                    )
                    continue
                stack.append((entry.path, relative + "/", ancestors | {key}))
            elif stat.S_ISREG(st.st_mode):
                if st.st_dev in pseudo:
                    problems.append(_pseudo_problem(entry.path, logical))
                    continue
                if logical.partition("/")[0] in RESERVED:
                    problems.append(
                        Problem(
                            "reserved-path",
                            f"logical path {logical!r} is reserved for corral's own use",
                            path=entry.path,
                            hint="rename it or ignore it (the default '.*' pattern does)",
                        )
                    )
                    continue
                found.append(SourceFile.of(logical, entry.path, source.index, st))
            else:
                problems.append(
                    Problem(
                        "not-a-file",
                        "not a regular file (a FIFO, socket or device)",
                        path=entry.path,
                        logical_path=logical,
                        hint="remove it from the source, or add an ignore pattern for it",
                    )
                )
    return found


def _listed_files(
    source: ResolvedSource, rules: IgnoreRules, problems: list[Problem]
) -> list[SourceFile]:
    """The files of a listed source, checked like a directory's (ignore rules apply)."""
    assert source.files is not None
    found: list[SourceFile] = []
    for logical, path in source.files:
        if path_ignored(rules, logical, source.prefix):
            continue
        try:
            st = os.stat(path)
        except OSError as exc:
            problems.append(_stat_problem(exc, path, logical))
            continue
        if st.st_dev in _pseudo():
            problems.append(_pseudo_problem(path, logical))
            continue
        if not stat.S_ISREG(st.st_mode):
            problems.append(
                Problem(
                    "not-a-file",
                    "not a regular file",
                    path=path,
                    logical_path=logical,
                    hint=f"fix what {source.label} lists, or add an ignore pattern for it",
                )
            )
            continue
        found.append(SourceFile.of(logical, path, source.index, st))
    return found


def path_ignored(rules: IgnoreRules, logical: str, prefix: str) -> bool:
    """Whether a file, or a directory on its way from the source's top, is ignored."""
    relative = logical[len(prefix) + 1 :] if prefix else logical
    parts = relative.split("/")
    base = f"{prefix}/" if prefix else ""
    for depth in range(1, len(parts) + 1):
        rel = "/".join(parts[:depth])
        if rules.ignores(parts[depth - 1], rel, base + rel, is_dir=depth < len(parts)):
            return True
    return False


_SUSPECT_NAME = re.compile(r"[\x00-\x1f\x7f\\\udc80-\udcff]")


def _bad_name(name: str) -> str | None:
    if _SUSPECT_NAME.search(name) is None:  # the common case: one C-level scan
        return None
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid UTF-8, so no URL can name it reliably"
    if "\\" in name:
        return "contains a backslash, which browsers turn into '/' in URLs"
    return "contains a control character, so no URL can name it reliably"


def _pseudo_problem(path: str, logical: str) -> Problem:
    return Problem(
        "not-a-file",
        f"a link to {os.path.realpath(path)}, a kernel pseudo-file, not content: never read",
        path=path,
        logical_path=logical,
        hint="remove the link, or add an ignore pattern for it",
    )


def _stat_problem(exc: OSError, path: str, logical: str) -> Problem:
    if exc.errno == errno.ELOOP:
        return Problem(
            "symlink-loop",
            "symbolic link loop: the link resolves to itself",
            path=path,
            logical_path=logical,
            hint="fix or remove the link, or add an ignore pattern for it",
        )
    if exc.errno == errno.ENOENT and os.path.islink(path):
        return Problem(
            "broken-symlink",
            f"broken symbolic link (points to {os.readlink(path)!r}, which does not exist)",
            path=path,
            logical_path=logical,
            hint="fix or remove the link, or add an ignore pattern for it",
        )
    return _os_problem(exc, path, "can't read file information", logical)


def _os_problem(exc: OSError, path: str, what: str, logical: str | None = None) -> Problem:
    code = "unreadable" if exc.errno in (errno.EACCES, errno.EPERM) else "os-error"
    return Problem(
        code,
        f"{what}: {exc.strerror or exc}",
        path=path,
        logical_path=logical,
        hint="make it readable by this user, or add an ignore pattern for it",
    )


def name_clashes(files: dict[str, SourceFile]) -> list[Problem]:
    """Paths that differ only in letter case or Unicode normalisation (NFC/NFD): one file
    replaces the other on a case-insensitive or normalising target (macOS, Windows, most
    object stores' clients), and URLs that differ so are easy to get wrong."""
    import unicodedata  # noqa: PLC0415 - only names outside ASCII need it

    groups: dict[str, list[str]] = {}
    for logical in files:
        key = logical if logical.isascii() else unicodedata.normalize("NFC", logical)
        groups.setdefault(key.casefold(), []).append(logical)
    return [
        Problem(
            "name-clash",
            "these paths differ only in letter case or Unicode normalisation: "
            + ", ".join(repr(n) for n in sorted(names)),
            path=files[min(names)].path,
            logical_path=min(names),
            hint="rename one: on a case-insensitive or normalising file system one "
            "replaces the other",
        )
        for names in groups.values()
        if len(names) > 1
    ]


def _file_directory_clashes(files: dict[str, SourceFile]) -> list[Problem]:
    """A logical path can't be both a file and a directory in the target."""
    problems: list[Problem] = []
    seen_dirs: set[str] = set()
    for logical in sorted(files):
        parent = logical
        while "/" in parent:
            parent = parent.rsplit("/", 1)[0]
            if parent in seen_dirs:
                break
            seen_dirs.add(parent)
            if parent in files:
                clash = files[parent]
                problems.append(
                    Problem(
                        "file-directory-clash",
                        f"{parent!r} is a file ({clash.path}) and also a directory "
                        f"(holding {files[logical].path})",
                        path=clash.path,
                        logical_path=parent,
                        hint="rename one of them, give one source a prefix, or ignore one",
                    )
                )
    return problems
