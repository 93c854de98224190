"""The engine over a real npm corpus, all files as one source (opt-in: set CORRAL_FP_CORPUS).

Build the corpus with::

    npm install --prefix /tmp/fpcorpus @popperjs/core@2.11.8 tinymce@7 mathjax@3 bootstrap@5.3.3
    CORRAL_FP_CORPUS=/tmp/fpcorpus/node_modules pytest tests/fingerprint/test_corpus.py

Checks that the run finishes, that every reference in every scanned file
either resolves to a collected file (and now names its hashed copy) or is
reported, that a no-change run reads nothing, and that a one-file change
re-processes exactly that file and its transitive referrers.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import pytest

from corral.fingerprint import FingerprintOptions, FingerprintResult
from corral.fingerprint.scan import scannable
from corral.fingerprint.urls import resolve
from corral.references import decode_text, find_references

from .helpers import CountingReader, outputs, run

CORPUS = os.environ.get("CORRAL_FP_CORPUS", "")

pytestmark = pytest.mark.skipif(not CORPUS, reason="set CORRAL_FP_CORPUS to a directory")


def load(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def corpus() -> tuple[dict[str, bytes], FingerprintResult]:
    tree = load(Path(CORPUS))
    return tree, run(tree)


def test_every_reference_resolves_or_is_reported(
    corpus: tuple[dict[str, bytes], FingerprintResult],
) -> None:
    tree, result = corpus
    options = FingerprintOptions()
    reported = {(p.logical_path, p.line, p.column) for p in [*result.problems, *result.warnings]}
    made = outputs(tree, result)
    checked = 0
    for logical, data in tree.items():
        if not scannable(logical):
            continue
        text = decode_text(data, logical)
        out = made[result.fingerprints[logical].hashed]
        for ref in find_references(logical, text) or ():
            target = resolve(ref.url, ref.kind, logical, options.url)
            if target is None:
                continue
            checked += 1
            if target.logical in tree:
                assert target.logical in result.fingerprints[logical].deps
                hashed = result.fingerprints[target.logical].hashed
                if ref.kind != "sourcemap-file" and not options.is_passthrough(logical):
                    assert hashed.rpartition("/")[2].encode() in out, (logical, ref)
            else:
                assert (logical, ref.line, ref.column) in reported, (logical, ref)
    assert checked > 0


def test_no_change_reads_nothing(corpus: tuple[dict[str, bytes], FingerprintResult]) -> None:
    tree, result = corpus
    reader = CountingReader(tree)
    again = run(tree, previous=result.fingerprints, reader=reader)
    assert reader.calls == {} and again.processed == []
    assert again.fingerprints == result.fingerprints


def test_one_change_reprocesses_the_file_and_its_referrers(
    corpus: tuple[dict[str, bytes], FingerprintResult],
) -> None:
    tree, result = corpus
    referrers: dict[str, set[str]] = defaultdict(set)
    for logical, fp in result.fingerprints.items():
        for dep in fp.deps:
            referrers[dep].add(logical)
    # The most referenced file that has referrers in turn.
    changed = max(referrers, key=lambda k: (len(referrers[k]), k))
    expected = {changed}
    todo = [changed]
    while todo:
        for referrer in referrers[todo.pop()]:
            if referrer not in expected and _rewrites(referrer):
                expected.add(referrer)
                todo.append(referrer)
    edited = {**tree, changed: tree[changed] + b"\n/* edited */\n"}
    reader = CountingReader(edited)
    again = run(edited, previous=result.fingerprints, reader=reader)
    assert set(again.processed) == expected
    assert set(reader.calls) <= expected


def _rewrites(logical: str) -> bool:
    return not logical.endswith(".map") and not FingerprintOptions().is_passthrough(logical)
