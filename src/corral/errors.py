"""The one exception tree of corral.

Every error corral raises on purpose is a :class:`CorralError`. Each carries
structured fields (``path``, ``line``, ``hint``...) so callers never have to
parse message text::

    CorralError                 base: message, hint
    ├── ConfigError             bad configuration: file, line, key     (CLI exit 2)
    ├── SourceError             a source file or directory is unusable: path
    │   └── DecodeError         a text file is not valid UTF-8: path, line, column
    ├── TargetError             the target (STATIC_ROOT) can't be used: path
    │   ├── OwnershipError      the target is not corral's, or overlaps a source
    │   └── LockError           another run holds the target's lock: holder_pid
    ├── ManifestError           a manifest is unreadable, or names no such path: path
    └── BuildError              one or more problems found during a run: problems

A run that finds several problems (unreadable files, broken symlinks, clashing
paths, missing references...) reports them all at once in a :class:`BuildError`
whose ``problems`` are :class:`Problem` records. Whatever the error, the
previously published release is left as it was.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BuildError",
    "ConfigError",
    "CorralError",
    "DecodeError",
    "LockError",
    "ManifestError",
    "OwnershipError",
    "Problem",
    "SourceError",
    "TargetError",
]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the input, found during a run.

    ``code`` is a stable identifier (e.g. ``"unreadable"``, ``"broken-symlink"``)
    that tests and tools can match on; ``message`` says what and where; ``hint``
    says what to do about it.
    """

    code: str
    message: str
    path: str | None = None
    hint: str | None = None
    line: int | None = None
    column: int | None = None
    reference: str | None = None
    logical_path: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {k: v for k, v in _problem_items(self) if v is not None}

    def __str__(self) -> str:
        where = self.path or self.logical_path or ""
        if where and self.line is not None:
            where = f"{where}:{self.line}" + (f":{self.column}" if self.column else "")
        text = f"{where}: {self.message}" if where else self.message
        return f"{text}\n  hint: {self.hint}" if self.hint else text


def _problem_items(p: Problem) -> list[tuple[str, object]]:
    return [
        ("code", p.code),
        ("message", p.message),
        ("path", p.path),
        ("logical_path", p.logical_path),
        ("line", p.line),
        ("column", p.column),
        ("reference", p.reference),
        ("hint", p.hint),
    ]


class CorralError(Exception):
    """Base class of every error corral raises on purpose."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"error": type(self).__name__, "message": self.message}
        if self.hint:
            data["hint"] = self.hint
        return data


class ConfigError(CorralError):
    """The configuration is invalid: an unknown key, a wrong type, a bad value."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        file: str | None = None,
        key: str | None = None,
        line: int | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.file = file
        self.key = key
        self.line = line

    def to_dict(self) -> dict[str, object]:
        data = super().to_dict()
        data.update({k: v for k, v in (("file", self.file), ("line", self.line)) if v})
        if self.key:
            data["key"] = self.key
        return data

    @property
    def where(self) -> str:
        """``file:line (key 'k')``, or the file alone, or what set the value: for a message."""
        if self.file and self.line:
            return f"{self.file}:{self.line}" + (f" (key {self.key!r})" if self.key else "")
        return self.file or ""


class SourceError(CorralError):
    """A source directory or file can't be used."""

    def __init__(self, message: str, *, path: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.path = path


class DecodeError(SourceError):
    """A file that must be read as text is not valid UTF-8."""

    def __init__(
        self,
        message: str,
        *,
        path: str,
        line: int,
        column: int,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, path=path, hint=hint)
        self.line = line
        self.column = column


class TargetError(CorralError):
    """The target directory can't be written or used."""

    def __init__(self, message: str, *, path: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.path = path


class OwnershipError(TargetError):
    """The target is not owned by corral, or overlaps a source or the project."""


class LockError(TargetError):
    """Another corral run holds the target's lock."""

    def __init__(
        self,
        message: str,
        *,
        path: str,
        holder_pid: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, path=path, hint=hint)
        self.holder_pid = holder_pid


class ManifestError(CorralError):
    """A manifest can't be read, or (in strict mode) does not know a logical path."""

    def __init__(self, message: str, *, path: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.path = path


class BuildError(CorralError):
    """A run found problems; nothing was published."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        problems = tuple(problems)
        count = len(problems)
        noun = "problem" if count == 1 else "problems"
        first = f": {problems[0]}" if count == 1 else ""
        super().__init__(
            f"{count} {noun} found; nothing was published{first}",
            hint="fix the files named above (or ignore them) and run again",
        )
        self.problems = problems

    def to_dict(self) -> dict[str, object]:
        data = super().to_dict()
        data["problems"] = [p.to_dict() for p in self.problems]
        return data


#: Problem codes that are configuration mistakes: a run that found only these exits 2.
CONFIGURATION_PROBLEMS = frozenset({"missing-source", "no-sources"})


def is_configuration_error(exc: CorralError) -> bool:
    """Whether ``exc`` is a configuration mistake (CLI exit 2, docs/errors.md "Exit codes"):
    a bad key or value, or a run whose only problems are sources that don't exist or none."""
    if isinstance(exc, BuildError):
        return bool(exc.problems) and all(p.code in CONFIGURATION_PROBLEMS for p in exc.problems)
    return isinstance(exc, ConfigError)
