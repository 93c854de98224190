"""The engine's outcome: names follow content, cycles are hashed together, pass-through."""

from __future__ import annotations

import base64
import hashlib
import random

import pytest

from corral.fingerprint import Fingerprint, FingerprintOptions, fingerprint, hashed_name
from corral.fingerprint.engine import plain_record
from corral.fingerprint.scan import find

from .helpers import CountingReader, facts, names, outputs, run

PNG = b"\x89PNG fake"


def md5_name(logical: str, data: bytes) -> str:
    return hashed_name(logical, hashlib.md5(data).hexdigest()[:12])


TREE = {
    "css/app.css": b'@import "base.css";\nbody{background:url(../img/bg.png)}\n',
    "css/base.css": b"a{background:url(../img/icon.png)}\n",
    "img/bg.png": PNG + b"bg",
    "img/icon.png": PNG + b"icon",
    "img/unused.png": PNG + b"unused",
}


@pytest.mark.parametrize("digests", [False, True], ids=["digests unknown", "digests known"])
def test_every_file_is_named_by_its_published_bytes(digests: bool) -> None:
    # With digests known (as the pipeline gives them), a scanned file that needs no
    # rewriting reuses them; a rewritten one is hashed anew: either way they describe
    # the published bytes.
    tree = {**TREE, "css/plain.css": b"a{color:red}\n"}
    result = run(tree, digests=digests)
    made = outputs(tree, result)
    for logical, fp in result.fingerprints.items():
        data = made[fp.hashed]
        assert fp.hashed == md5_name(logical, data)
        assert fp.sha256 == hashlib.sha256(data).hexdigest()
        assert fp.integrity == "sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode()
        assert fp.size == len(data)
        assert fp.md5 == hashlib.md5(tree[logical]).hexdigest()
        assert fp.rewritten == (data != tree[logical])
    assert result.fingerprints["css/app.css"].deps == ("css/base.css", "img/bg.png")
    assert result.contents.keys() == {"css/app.css", "css/base.css"}
    assert result.processed == sorted(tree)


def test_a_changed_image_renames_the_css_using_it_and_the_css_importing_that() -> None:
    before = names(run(TREE))
    after = names(run({**TREE, "img/icon.png": PNG + b"new icon"}))
    changed = {k for k in TREE if before[k] != after[k]}
    assert changed == {"img/icon.png", "css/base.css", "css/app.css"}


def test_rewrites_are_listed_with_positions() -> None:
    result = run(TREE)
    fp = result.fingerprints
    assert [(r.logical, r.line, r.column, r.old) for r in result.rewrites] == [
        ("css/app.css", 1, 10, "base.css"),
        ("css/app.css", 2, 21, "../img/bg.png"),
        ("css/base.css", 1, 18, "../img/icon.png"),
    ]
    assert result.rewrites[0].new == fp["css/base.css"].hashed.removeprefix("css/")


# -- cycles ------------------------------------------------------------------------------

TWO = {
    "a.js": b'import {b} from "./b.js";\nexport const a = 1;\n',
    "b.js": b'import {a} from "./a.js";\nexport const b = 2;\n',
}
THREE = {
    "m/a.js": b'import "./b.js";\n',
    "m/b.js": b'import "../c.js";\n',
    "c.js": b'export * from "./m/a.js";\nimport "./util.js";\n',
    "util.js": b"export const u = 1;\n",
    "main.js": b'import "./c.js";\n',
}


@pytest.mark.parametrize("tree", [TWO, THREE], ids=["2-cycle", "3-cycle"])
def test_cycle_members_point_at_each_others_final_names(tree: dict[str, bytes]) -> None:
    result = run(tree)
    assert result.problems == []
    assert len(result.cycles) == 1
    made = outputs(tree, result)
    for member in result.cycles[0]:
        fp = result.fingerprints[member]
        for dep in fp.deps:
            dep_name = result.fingerprints[dep].hashed.rsplit("/", 1)[-1]
            assert dep_name.encode() in made[fp.hashed]


def test_three_cycle_with_an_outside_dependency() -> None:
    result = run(THREE)
    assert result.cycles == [("c.js", "m/a.js", "m/b.js")]
    # util.js and main.js are ordinary files named by their bytes.
    assert result.fingerprints["main.js"].hashed == md5_name("main.js", result.contents["main.js"])
    assert result.fingerprints["util.js"].hashed == md5_name("util.js", THREE["util.js"])
    # A change outside the group renames every member (and what imports them), nothing else.
    changed = {**THREE, "util.js": b"export const u = 2;\n"}
    before, after = names(result), names(run(changed))
    assert {k for k in THREE if before[k] != after[k]} == set(THREE)
    unrelated = {**THREE, "other.js": b"1"}
    assert {k: v for k, v in names(run(unrelated)).items() if k != "other.js"} == before


def test_a_change_in_one_member_renames_every_member() -> None:
    before = names(run(TWO))
    after = names(run({**TWO, "b.js": TWO["b.js"] + b"// changed\n"}))
    assert before["a.js"] != after["a.js"] and before["b.js"] != after["b.js"]


def test_self_import_is_a_cycle_of_one() -> None:
    tree = {"self.js": b'export const x = () => import("./self.js");\n'}
    result = run(tree)
    assert result.cycles == [("self.js",)]
    hashed = result.fingerprints["self.js"].hashed
    assert result.contents["self.js"] == f'export const x = () => import("./{hashed}");\n'.encode()
    assert result.fingerprints["self.js"].deps == ("self.js",)


def test_cycle_names_follow_the_documented_rule() -> None:
    result = run(TWO)
    digest = hashlib.sha256(b"corral-cycle-1\0")
    for member in ("a.js", "b.js"):  # no outside links: rendered as written
        digest.update(b"%s\0%d\0%s" % (member.encode(), len(TWO[member]), TWO[member]))
    group = digest.hexdigest()
    for member in ("a.js", "b.js"):
        member_hash = hashlib.md5(f"{group}\0{member}".encode()).hexdigest()[:12]
        assert result.fingerprints[member].hashed == hashed_name(member, member_hash)


def test_cycles_are_deterministic_across_runs_and_input_orders() -> None:
    tree = {**THREE, **TWO}
    expected = run(tree)
    items = list(tree.items())
    rng = random.Random(3)
    for _ in range(10):
        rng.shuffle(items)
        shuffled = dict(items)
        again = fingerprint(facts(shuffled), CountingReader(shuffled), {}, FingerprintOptions())
        assert again.fingerprints == expected.fingerprints
        assert again.contents == expected.contents
        assert again.cycles == expected.cycles


# -- files and options ---------------------------------------------------------------------


def test_bom_is_kept_and_crlf_untouched() -> None:
    tree = {"a.css": b"\xef\xbb\xbfa{b:url(i.png)}\r\nc{d:e}\r\n", "i.png": PNG}
    result = run(tree)
    i = result.fingerprints["i.png"].hashed
    assert result.contents["a.css"] == f'\ufeffa{{b:url("{i}")}}\r\nc{{d:e}}\r\n'.encode()


def test_not_utf8_is_a_problem_naming_the_file_and_position() -> None:
    tree = {"css/bad.css": b"a{b:c}\n/* caf\xe9 */ d{background:url(i.png)}", "css/i.png": PNG}
    result = run(tree)
    [problem] = result.problems
    assert (problem.code, problem.logical_path, problem.line, problem.column) == (
        "not-utf8",
        "css/bad.css",
        2,
        7,
    )
    assert "0xe9" in problem.message
    assert str(problem).startswith("css/bad.css:2:7: not valid UTF-8")
    fp = result.fingerprints["css/bad.css"]  # still named, copied as is
    assert (fp.rewritten, fp.hashed) == (False, md5_name("css/bad.css", tree["css/bad.css"]))


def test_undecodable_source_map_only_warns() -> None:
    result = run({"a.js.map": b'{"file": "\xff"}'})
    assert result.problems == []
    assert [w.code for w in result.warnings] == ["not-utf8"]


def test_modules_off_leaves_imports_alone() -> None:
    result = run(TWO, FingerprintOptions(modules=False))
    assert result.contents == {} and result.cycles == []
    assert result.fingerprints["a.js"].deps == ()


def test_source_map_file_field_is_checked_not_rewritten() -> None:
    tree = {
        "app.js": b"x();\n//# sourceMappingURL=app.js.map\n",
        "app.js.map": b'{"version":3,"file":"app.js","sources":[],"mappings":""}',
        "other.js.map": b'{"version":3,"file":"gone.js","sources":[],"mappings":""}',
    }
    result = run(tree)
    assert "app.js.map" not in result.contents
    assert result.fingerprints["app.js.map"].deps == ("app.js",)
    assert result.cycles == []
    [warning] = result.warnings
    assert (warning.logical_path, warning.reference) == ("other.js.map", "gone.js")


def test_unknown_suffixes_are_copied_without_reading_when_digests_are_known() -> None:
    tree = {"a.html": b'<link href="x.css">', "x.css": b"x{}"}
    reader = CountingReader(tree)
    result = run(tree, reader=reader, digests=True)
    assert reader.calls == {"x.css": 1}
    assert result.fingerprints["a.html"].hashed == md5_name("a.html", tree["a.html"])


# -- pass-through --------------------------------------------------------------------------

VITE = {
    "assets/index-BRH8ky4y.js": (
        b'import {v} from "./vendor-C2xKq9Pz.js";\nimport "../img/logo.png";\n'
    ),
    "assets/vendor-C2xKq9Pz.js": b"export const v = 1;\n",
    "assets/index-BRH8ky4y.js.map": b'{"version":3,"file":"index-BRH8ky4y.js","mappings":""}',
    "img/logo.png": PNG,
    "app.js": b'import "./assets/vendor-C2xKq9Pz.js";\nimport "./img/logo.png";\n',
}


def test_pass_through_files_keep_their_name_and_bytes() -> None:
    result = run(VITE)
    fp = result.fingerprints
    for logical in ("assets/index-BRH8ky4y.js", "assets/vendor-C2xKq9Pz.js"):
        assert fp[logical].hashed == logical and not fp[logical].rewritten
    assert fp["assets/index-BRH8ky4y.js.map"].hashed == "assets/index-BRH8ky4y.js.map"
    assert fp["img/logo.png"].hashed != "img/logo.png"
    # Their references are checked (deps) but never rewritten...
    assert fp["assets/index-BRH8ky4y.js"].deps == ("assets/vendor-C2xKq9Pz.js", "img/logo.png")
    assert "assets/index-BRH8ky4y.js" not in result.contents
    # ...and references to them stay as written; other references are rewritten.
    logo = fp["img/logo.png"].hashed
    assert result.contents["app.js"] == (
        f'import "./assets/vendor-C2xKq9Pz.js";\nimport"./{logo}";\n'.encode()
    )


def test_pass_through_missing_references_are_reported() -> None:
    tree = {"assets/index-BRH8ky4y.js": b'import "./gone-D4x8Kk2a.js";\n'}
    [problem] = run(tree).problems
    assert problem.reference == "./gone-D4x8Kk2a.js"


def test_pass_through_can_be_turned_off() -> None:
    result = run(VITE, FingerprintOptions(passthrough=()))
    assert all(fp.hashed != logical for logical, fp in result.fingerprints.items())


def test_a_hashed_name_that_is_another_files_path_is_a_problem() -> None:
    name = md5_name("app.css", b"a{}")
    result = run({"app.css": b"a{}", name: b"b{}"})
    [problem] = result.problems
    assert (problem.code, problem.logical_path) == ("hashed-name-clash", "app.css")
    assert problem.message == f'its hashed name "{name}" is also the path of "{name}"'


def test_files_found_elsewhere_are_not_tokenized_again_and_link_free_ones_not_read() -> None:
    tree = {
        **TREE,
        **VITE,
        "js/plain.js": b"var a = 1;\n",
        "css/gone.css": b"a{background:url(nope.png)}\n",
    }
    options = FingerprintOptions(missing={"url": "warn"})
    expected = run(tree, options, digests=True)
    found = {
        logical: f
        for logical, data in tree.items()
        if logical.endswith((".css", ".js", ".map"))
        and (f := find(logical, data, tree.keys(), options)) is not None
    }
    reader = CountingReader(tree)
    result = run(tree, options, reader=reader, digests=True, found=found)
    assert result.fingerprints == expected.fingerprints
    assert result.contents == expected.contents
    assert result.warnings == expected.warnings
    # Named no collected file: nothing to rewrite, digests known, so not read at all.
    assert reader.calls["js/plain.js"] == 0
    assert reader.calls["css/gone.css"] == 0
    # Names collected files but is never rewritten (a source map, a pass-through
    # file): its links count for the graph, its bytes are not needed.
    assert found["assets/index-BRH8ky4y.js.map"].links
    assert reader.calls["assets/index-BRH8ky4y.js.map"] == 0
    assert found["assets/index-BRH8ky4y.js"].links
    assert reader.calls["assets/index-BRH8ky4y.js"] == 0
    assert expected.fingerprints["assets/index-BRH8ky4y.js"].deps  # kept in the record
    assert reader.calls["css/app.css"] == 1  # rewritten: read once, not tokenized again


def test_records_made_elsewhere_are_the_records_the_engine_makes() -> None:
    tree = {**TREE, **VITE, "fonts/a.woff2": b"wOF2", "img/other.png": PNG + b"other"}
    options = FingerprintOptions()
    known = facts(tree, digests=True)
    made = {
        logical: record
        for logical in tree
        if (record := plain_record(known[logical], options)) is not None
    }
    # Only files the engine does not scan get one.
    assert set(made) == {name for name in tree if name.endswith((".png", ".woff2"))}
    expected = run(tree, options, digests=True)
    assert {name: expected.fingerprints[name] for name in made} == made
    reader = CountingReader(tree)
    result = fingerprint(known, reader, {}, options, made=made)
    assert result.fingerprints == expected.fingerprints
    assert result.contents == expected.contents
    assert result.processed == expected.processed  # made here or elsewhere, processed
    assert not any(reader.calls[name] for name in made)
    assert all(result.fingerprints[name] is made[name] for name in made)  # taken as made


def test_a_record_made_for_other_bytes_is_not_taken() -> None:
    options = FingerprintOptions()
    old = facts({**TREE, "img/bg.png": PNG + b"old"}, digests=True)
    stale = plain_record(old["img/bg.png"], options)
    assert stale is not None
    known = facts(TREE, digests=True)
    result = fingerprint(known, CountingReader(TREE), {}, options, made={"img/bg.png": stale})
    assert result.fingerprints["img/bg.png"] != stale
    assert result.fingerprints == run(TREE, options, digests=True).fingerprints


def test_no_plain_record_for_a_scanned_file_or_unknown_digests() -> None:
    options = FingerprintOptions()
    assert plain_record(facts(TREE, digests=True)["css/app.css"], options) is None
    assert plain_record(facts(TREE)["img/bg.png"], options) is None


def test_a_result_for_other_bytes_is_not_used() -> None:
    old = {**TREE, "css/base.css": b"a{background:url(../img/bg.png)}\n"}
    found = {
        logical: f
        for logical, data in old.items()
        if logical.endswith(".css")
        and (f := find(logical, data, old.keys(), FingerprintOptions())) is not None
    }
    # css/base.css changed after it was scanned elsewhere: its result must not count.
    assert run(TREE, digests=True, found=found).fingerprints == run(TREE, digests=True).fingerprints


def test_a_sink_gets_each_rewritten_files_bytes_instead_of_the_result() -> None:
    tree = {
        "css/app.css": b'@import "base.css"; body { background: url("../img/a.png"); }',
        "css/base.css": b"html { color: red; }",
        "img/a.png": b"\x89PNG not really",
    }
    kept = run(tree)
    given: dict[str, bytes] = {}

    def sink(fp: Fingerprint, data: bytes) -> None:
        assert fp.rewritten and fp.logical not in given
        given[fp.logical] = data

    streamed = fingerprint(facts(tree), CountingReader(tree), {}, FingerprintOptions(), sink=sink)
    assert given == kept.contents and set(given) == {"css/app.css"}
    assert streamed.contents == {}
    assert streamed.fingerprints == kept.fingerprints
