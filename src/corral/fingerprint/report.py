"""Turn missing references and undecodable files into :class:`~corral.errors.Problem` records.

Each problem says what and where (the referencing file's logical path, line
and column, the reference as written and the path it resolves to) and its
hint names the exact setting that would accept it: the ``accept_missing`` glob
for that very path, and the per-kind policy key ``missing.<kind>``.
"""

from __future__ import annotations

import glob
from collections.abc import Container, Iterable, Mapping

from corral.errors import DecodeError, Problem
from corral.fingerprint.model import Fingerprint, FingerprintResult, Missing
from corral.fingerprint.options import FingerprintOptions
from corral.references import KINDS

__all__ = ["decode_problem", "missing_problem", "name_clashes", "report_missing"]

MISSING_CODE = "missing-reference"
NOT_UTF8_CODE = "not-utf8"
CLASH_CODE = "hashed-name-clash"


def report_missing(
    logical: str,
    missing: Iterable[Missing],
    options: FingerprintOptions,
    result: FingerprintResult,
    files: Container[str] = (),
) -> None:
    """Add a problem or a warning to ``result`` for each of ``logical``'s ``missing``, by policy.

    ``files`` (the collected logical paths) lets a message point out the
    file a bundler would have picked for an extensionless module specifier.
    """
    for item in missing:
        if options.accepts(item.resolved):
            continue
        policy = options.policy(item.kind)
        if policy == "error":
            result.problems.append(
                missing_problem(logical, item, error=True, files=files, settings=options.settings)
            )
        elif policy == "warn":
            result.warnings.append(
                missing_problem(logical, item, error=False, files=files, settings=options.settings)
            )


def missing_problem(
    logical: str,
    item: Missing,
    *,
    error: bool,
    files: Container[str] = (),
    settings: str = "[tool.corral]",
) -> Problem:
    """The problem record of the missing reference ``item`` in ``logical``."""
    kind = KINDS[item.kind]
    what = kind.what
    outside = item.resolved in (".", "..") or item.resolved.startswith(("../", "/"))
    if outside:
        message = (
            f'{what} reference "{item.reference}" climbs out of the static root '
            f'(it resolves to "{item.resolved}")'
        )
    else:
        message = (
            f'{what} reference "{item.reference}" names "{item.resolved}", '
            "which is not a collected file"
        )
        if kind.module:
            message += _bundler_note(item.resolved, files)
    glob_text = glob.escape(item.resolved)
    other = '"warn" or "ignore"' if error else '"ignore"'
    if settings == "[tool.corral]":
        hint = (
            f'add "{glob_text}" to accept_missing in [tool.corral] to leave it as written, '
            f"or set missing.{item.kind} = {other}"
        )
    else:
        hint = (
            f'add "{glob_text}" to the accept_missing option ({settings}) to leave it as '
            f'written, or set the "{item.kind}" entry of the missing option to {other}'
        )
    if error and not outside:
        hint = f'ship "{item.resolved}" in a source, fix the reference, or {hint}'
    return Problem(
        MISSING_CODE,
        message,
        hint=hint,
        line=item.line,
        column=item.column,
        reference=item.reference,
        logical_path=logical,
    )


def _bundler_note(resolved: str, files: Container[str]) -> str:
    """Point out the file a bundler (not a browser) would resolve an extensionless specifier to."""
    for candidate in (f"{resolved}.js", f"{resolved}.mjs", f"{resolved}/index.js"):
        if candidate in files:
            return (
                f' (there is "{candidate}", but browsers add no extension or index.js: '
                "this module is meant for a bundler or Node)"
            )
    return ""


def decode_problem(logical: str, exc: DecodeError, *, error: bool = True) -> Problem:
    """The problem record of a CSS/JS/source map file that is not UTF-8."""
    detail = exc.message.removeprefix(f"{exc.path}:{exc.line}:{exc.column}: ")
    consequence = (
        "its references can't be rewritten"
        if error
        else "its references can't be checked; it is copied as is"
    )
    return Problem(
        NOT_UTF8_CODE,
        f"{detail}; {consequence}",
        hint=exc.hint,
        line=exc.line,
        column=exc.column,
        logical_path=logical,
    )


def name_clashes(fingerprints: Mapping[str, Fingerprint]) -> list[Problem]:
    """Problems for hashed names that are also another file's path or hashed name.

    E.g. a source file literally named ``app.0123456789ab.css`` next to an
    ``app.css`` whose hash is ``0123456789ab``: both would be published at one
    path. Only likely when already-hashed files are collected again.
    """
    owner = {logical: logical for logical in fingerprints}  # published path -> its file
    problems = []
    for logical in sorted(fingerprints):
        hashed = fingerprints[logical].hashed
        if hashed == logical:
            continue
        other = owner.setdefault(hashed, logical)
        if other == logical:
            continue
        what = "the path of" if other == hashed else "the hashed name of"
        problems.append(
            Problem(
                CLASH_CODE,
                f'its hashed name "{hashed}" is also {what} "{other}"',
                hint=f'rename or ignore "{logical}" or "{other}" '
                "(were already hashed files collected again?)",
                logical_path=logical,
            )
        )
    return problems
