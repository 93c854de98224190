"""Property tests: rewriting touches only references; names never depend on input order."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corral.fingerprint import FingerprintOptions, fingerprint
from corral.fingerprint.model import Fingerprint
from corral.fingerprint.urls import resolve
from corral.references import decode_text, find_references

from .helpers import CountingReader, facts, outputs, run

TARGETS = {
    "img/a.png": b"png a",
    "img/b b.png": b"png b",
    "fonts/f.woff2": b"woff2",
    "css/other.css": b"o{background:url(../img/a.png)}",
}
# How each target can be written from css/app.css.
SPELLINGS = {
    "img/a.png": ["../img/a.png", "/static/img/a.png", "./../img/a.png", "../img/./a.png"],
    "img/b b.png": ["../img/b%20b.png", "../img/b b.png"],
    "fonts/f.woff2": ["../fonts/f.woff2", "/static/fonts/f.woff2"],
    "css/other.css": ["other.css", "./other.css", "/static/css/other.css"],
}
SUFFIXES = ["", "?v=1", "#frag", "?v=2#x", "?#iefix"]

filler = st.text(alphabet="abcdefxyz0123456789 \n\t{}:;,.-_%!", max_size=12)
comment = st.builds(lambda t: f"/* {t} url(in-comment.png) */", filler)
string = st.builds(
    lambda t: f'content:"{t} url(in-string.png)";', filler.map(lambda t: t.replace("\n", " "))
)


@st.composite
def reference(draw: st.DrawFn) -> str:
    target = draw(st.sampled_from(sorted(SPELLINGS)))
    url = draw(st.sampled_from(SPELLINGS[target])) + draw(st.sampled_from(SUFFIXES))
    form = draw(
        st.sampled_from(
            [
                "url({})",
                "url('{}')",
                'url("{}")',
                "URL( {} )",
                '@import "{}";',
                "@import url({});",
                'image-set("{}" 1x)',
            ]
        )
    )
    if " " in url and form in ("url({})", "URL( {} )", "@import url({});"):
        url = url.replace(" ", "%20")
    return form.format(url)


css = st.lists(st.one_of(filler, comment, string, reference()), max_size=12).map("".join)


def gaps(text: str) -> tuple[list[str], list[str]]:
    """The text between references' constructs, and the references' kinds."""
    refs = find_references("css/app.css", text) or []
    out: list[str] = []
    kinds: list[str] = []
    last = 0
    for ref in refs:
        start = ref.construct_start
        if ref.kind == "import" and text[start] != "@":  # @import url(x): from the keyword on
            start = text.lower().rindex("@import", 0, start)
        out.append(text[last:start])
        kinds.append(ref.kind)
        last = ref.construct_end
    out.append(text[last:])
    return out, kinds


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(css)
def test_rewriting_changes_nothing_but_the_references(text: str) -> None:
    tree = {**TARGETS, "css/app.css": text.encode()}
    result = run(tree)
    assert result.problems == []
    new = decode_text(outputs(tree, result)[result.fingerprints["css/app.css"].hashed], "x")
    before, after = gaps(text), gaps(new)
    assert after == before
    # And every reference now names the hashed file of what it named before.
    hashed = {fp.hashed: logical for logical, fp in result.fingerprints.items()}
    old_refs = find_references("css/app.css", text) or []
    new_refs = find_references("css/app.css", new) or []
    for old, ref in zip(old_refs, new_refs, strict=True):
        was = resolve(old.url, old.kind, "css/app.css", "/static/")
        now = resolve(ref.url, ref.kind, "css/app.css", "/static/")
        assert was is not None and now is not None
        assert hashed[now.logical] == was.logical
        assert ref.url.partition("?")[2] == old.url.strip().partition("?")[2]


NAMES = [f"{d}{n}" for d in ("", "a/", "a/b/") for n in ("x.js", "y.js", "z.css", "w.css")]


@st.composite
def trees(draw: st.DrawFn) -> dict[str, bytes]:
    files = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=10, unique=True))
    tree: dict[str, bytes] = {}
    for logical in files:
        depth = logical.count("/")
        up = "../" * depth
        deps = draw(st.lists(st.sampled_from(files), max_size=3))
        if logical.endswith(".js"):
            lines = [f'import "./{up}{d}";' for d in deps if d.endswith(".js")]
        else:
            lines = [f'@import "{up}{d}";' for d in deps if d.endswith(".css")]
        lines.append(draw(st.text(alphabet="abc ;\n", max_size=5)))
        tree[logical] = "\n".join(lines).encode()
    return tree


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(trees(), st.randoms(use_true_random=False))
def test_names_do_not_depend_on_input_order(tree: dict[str, bytes], rng: object) -> None:
    expected = run(tree)
    items = list(tree.items())
    rng.shuffle(items)  # type: ignore[attr-defined]
    shuffled = dict(items)
    again = fingerprint(facts(shuffled), CountingReader(shuffled), {}, FingerprintOptions())
    assert list(again.fingerprints.items()) != [] and again.fingerprints == expected.fingerprints
    assert again.contents == expected.contents
    # ...and every record survives the state's JSON round trip.
    for fp in again.fingerprints.values():
        assert Fingerprint.from_json(json.loads(json.dumps(fp.to_json()))) == fp


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(trees(), st.data())
def test_vouching_for_unchanged_files_changes_no_outcome(
    tree: dict[str, bytes], data: st.DataObject
) -> None:
    previous = run(tree).fingerprints
    edited = dict(tree)
    for logical in data.draw(st.lists(st.sampled_from(sorted(tree)), max_size=3, unique=True)):
        edited[logical] = data.draw(trees().map(lambda t: next(iter(t.values()))))
    unchanged = [k for k in edited if edited[k] == tree[k]]
    plain = run(edited, previous=previous)
    fast = run(edited, previous=previous, unchanged=unchanged)
    assert fast.fingerprints == plain.fingerprints
    assert fast.contents == plain.contents
    assert (fast.processed, fast.rewrites, fast.cycles) == (
        plain.processed,
        plain.rewrites,
        plain.cycles,
    )
    assert (fast.problems, fast.warnings) == (plain.problems, plain.warnings)
