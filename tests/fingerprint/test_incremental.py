"""Incremental runs: unchanged inputs are reused without reading; a change re-processes
that file and what (transitively) references it, and nothing else."""

from __future__ import annotations

import dataclasses
import json

import pytest

from corral.fingerprint import Fingerprint, FingerprintOptions, engine

from .helpers import CountingReader, run

PNG = b"\x89PNG fake"
TREE = {
    "css/app.css": b'@import "base.css";\nbody{background:url(../img/bg.png)}\n',
    "css/base.css": b"a{background:url(../img/icon.png)}\n",
    "css/other.css": b"o{background:url(../img/bg.png)}\n",
    "img/bg.png": PNG + b"bg",
    "img/icon.png": PNG + b"icon",
    "js/a.js": b'import "./b.js";\nimport "./util.js";\n',
    "js/b.js": b'import "./a.js";\n',
    "js/util.js": b"export const u = 1;\n",
    "js/main.js": b'import "./a.js";\n',
}


def first() -> dict[str, Fingerprint]:
    return run(TREE).fingerprints


def test_no_change_reads_and_processes_nothing() -> None:
    previous = first()
    reader = CountingReader(TREE)
    result = run(TREE, previous=previous, reader=reader)
    assert reader.calls == {}
    assert result.processed == [] and result.contents == {} and result.rewrites == []
    assert result.fingerprints == previous
    assert result.cycles == [("js/a.js", "js/b.js")]  # still known, from the recorded deps


def test_previous_survives_a_json_round_trip() -> None:
    stored = json.loads(json.dumps({k: fp.to_json() for k, fp in first().items()}))
    previous = {k: Fingerprint.from_json(v) for k, v in stored.items()}
    assert previous == first()
    reader = CountingReader(TREE)
    assert run(TREE, previous=previous, reader=reader).processed == []
    assert reader.calls == {}


def test_a_changed_image_reprocesses_exactly_its_referrers() -> None:
    previous = first()
    tree = {**TREE, "img/icon.png": PNG + b"new icon"}
    reader = CountingReader(tree)
    result = run(tree, previous=previous, reader=reader)
    assert result.processed == ["css/app.css", "css/base.css", "img/icon.png"]
    # The image is read for its MD5 (the facts carry none), the CSS to rewrite it.
    assert reader.calls == {"img/icon.png": 1, "css/base.css": 1, "css/app.css": 1}
    assert result.contents.keys() == {"css/app.css", "css/base.css"}
    for logical in ("css/other.css", "img/bg.png", "js/a.js"):
        assert result.fingerprints[logical] is previous[logical]


def test_digests_from_the_pipeline_spare_the_read() -> None:
    previous = first()
    tree = {**TREE, "img/icon.png": PNG + b"new icon"}
    reader = CountingReader(tree)
    run(tree, previous=previous, reader=reader, digests=True)
    assert "img/icon.png" not in reader.calls


def test_a_changed_stylesheet_reprocesses_only_itself_and_its_importers() -> None:
    previous = first()
    tree = {**TREE, "css/base.css": TREE["css/base.css"] + b"/* edited */\n"}
    reader = CountingReader(tree)
    result = run(tree, previous=previous, reader=reader)
    assert result.processed == ["css/app.css", "css/base.css"]
    assert reader.calls == {"css/base.css": 1, "css/app.css": 1}


def test_a_top_level_change_reads_only_that_file() -> None:
    previous = first()
    tree = {**TREE, "css/app.css": TREE["css/app.css"] + b"x{y:z}\n"}
    reader = CountingReader(tree)
    result = run(tree, previous=previous, reader=reader)
    assert result.processed == ["css/app.css"] and reader.calls == {"css/app.css": 1}


def test_a_change_outside_a_cycle_reprocesses_the_cycle_and_its_importers() -> None:
    previous = first()
    tree = {**TREE, "js/util.js": b"export const u = 2;\n"}
    reader = CountingReader(tree)
    result = run(tree, previous=previous, reader=reader)
    assert result.processed == ["js/a.js", "js/b.js", "js/main.js", "js/util.js"]
    assert set(reader.calls) == set(result.processed)
    assert all(n == 1 for n in reader.calls.values())
    for logical in result.processed:
        assert result.fingerprints[logical].hashed != previous[logical].hashed


def test_a_file_that_appears_resolves_a_once_missing_reference() -> None:
    options = FingerprintOptions(missing={"url": "warn"})
    tree = {"a.css": b"a{b:url(new.png)}", "b.css": b"b{c:d}"}
    before = run(tree, options)
    assert [w.reference for w in before.warnings] == ["new.png"]
    grown = {**tree, "new.png": PNG}
    reader = CountingReader(grown)
    after = run(grown, options, previous=before.fingerprints, reader=reader)
    assert after.warnings == []
    assert after.processed == ["a.css", "new.png"]
    assert reader.calls == {"a.css": 1, "new.png": 1}
    assert after.fingerprints["a.css"].deps == ("new.png",)


def test_a_file_that_disappears_makes_its_referrers_report_it() -> None:
    before = run(TREE)
    shrunk = {k: v for k, v in TREE.items() if k != "img/icon.png"}
    reader = CountingReader(shrunk)
    after = run(shrunk, previous=before.fingerprints, reader=reader)
    assert [p.reference for p in after.problems] == ["../img/icon.png"]
    assert after.processed == ["css/app.css", "css/base.css"]


def test_reused_files_report_their_missing_references_again() -> None:
    tree = {"a.js": b"x();\n//# sourceMappingURL=a.js.map\n"}
    before = run(tree)
    reader = CountingReader(tree)
    again = run(tree, previous=before.fingerprints, reader=reader)
    assert reader.calls == {} and again.warnings == before.warnings
    # The current policy decides, still without reading.
    strict = run(
        tree,
        FingerprintOptions(missing={"sourcemap": "error"}),
        previous=before.fingerprints,
        reader=reader,
    )
    assert reader.calls == {} and [p.reference for p in strict.problems] == ["a.js.map"]


def test_options_that_shape_the_output_reprocess_text_files_only() -> None:
    previous = first()
    reader = CountingReader(TREE)
    result = run(TREE, FingerprintOptions(modules=False), previous=previous, reader=reader)
    assert result.processed == [k for k in sorted(TREE) if not k.endswith(".png")]
    assert "img/bg.png" not in reader.calls


def test_copied_files_reuse_previous_digests_when_the_bytes_are_the_same() -> None:
    previous = first()
    reader = CountingReader(TREE)
    options = FingerprintOptions(passthrough=(r"\.png$",))  # changes the key, not the bytes
    result = run(TREE, options, previous=previous, reader=reader)
    assert result.fingerprints["img/bg.png"].hashed == "img/bg.png"
    assert "img/bg.png" in result.processed and "img/bg.png" not in reader.calls


def test_a_foreign_previous_record_is_not_trusted() -> None:
    previous = dict(first())
    forged = previous["css/base.css"]
    previous["css/base.css"] = dataclasses.replace(forged, inputs="x:y", deps=())
    reader = CountingReader(TREE)
    result = run(TREE, previous=previous, reader=reader)
    assert result.processed == ["css/base.css"]
    assert result.fingerprints == first()


# -- ``unchanged``: the caller vouches for files; the outcome must not change, only the work.

EDITS = {
    "an image": {"img/icon.png": PNG + b"new icon"},
    "an imported stylesheet": {"css/base.css": TREE["css/base.css"] + b"/* edited */\n"},
    "a top-level stylesheet": {"css/app.css": TREE["css/app.css"] + b"x{y:z}\n"},
    "a cycle member": {"js/b.js": b'import "./a.js";\nexport const b = 2;\n'},
    "a file a cycle imports": {"js/util.js": b"export const u = 2;\n"},
    "a new reference in a cycle": {"js/b.js": b'import "./a.js";\nimport "./util.js";\n'},
    "nothing": {},
}


def vouched(tree: dict[str, bytes]) -> list[str]:
    """What a pipeline would call unchanged: the files whose bytes are TREE's."""
    return [k for k, v in tree.items() if TREE.get(k) == v]


@pytest.mark.parametrize("edit", EDITS.values(), ids=EDITS.keys())
def test_unchanged_files_give_the_same_outcome(edit: dict[str, bytes]) -> None:
    previous = first()
    tree = {**TREE, **edit}
    plain = run(tree, previous=previous)
    reader = CountingReader(tree)
    fast = run(tree, previous=previous, reader=reader, unchanged=vouched(tree))
    assert fast.fingerprints == plain.fingerprints
    assert fast.contents == plain.contents
    assert fast.processed == plain.processed
    assert fast.rewrites == plain.rewrites
    assert fast.cycles == plain.cycles == [("js/a.js", "js/b.js")]
    assert fast.warnings == plain.warnings and fast.problems == plain.problems
    assert set(reader.calls) <= set(plain.processed)


def test_unchanged_files_are_not_keyed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    previous = first()
    tree = {**TREE, "img/icon.png": PNG + b"new icon"}
    keyed: list[str] = []
    real_key = engine._key

    def counting_key(*parts: str) -> str:
        if parts and parts[0] == engine.ENGINE_VERSION:  # a file's own key: (version, path, ...)
            keyed.append(parts[1])
        return real_key(*parts)

    monkeypatch.setattr(engine, "_key", counting_key)
    run(tree, previous=previous)
    everything = set(keyed)
    keyed.clear()
    result = run(tree, previous=previous, unchanged=vouched(tree))
    # The image and the stylesheets that (transitively) reference it; nothing else.
    assert sorted(keyed) == ["css/app.css", "css/base.css", "img/icon.png"]
    assert everything == set(TREE)
    assert result.processed == ["css/app.css", "css/base.css", "img/icon.png"]


def test_a_vouched_file_without_a_previous_record_is_processed() -> None:
    previous = {k: v for k, v in first().items() if k != "css/base.css"}
    result = run(TREE, previous=previous, unchanged=list(TREE))
    assert result.processed == ["css/base.css"]  # its referrer is keyed, and keeps its record
    assert result.fingerprints == first()
    assert result.fingerprints["css/app.css"] is previous["css/app.css"]
