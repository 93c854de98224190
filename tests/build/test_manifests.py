"""The entries an older release's corral manifest keeps: read a piece at a time."""

from __future__ import annotations

import json

import pytest

from corral.build.manifests import _entries_not_in, manifest_encodings


def _manifest(entries: dict[str, dict[str, object]]) -> str:
    payload = {"files": entries, "release": "3", "url": "/s/", "version": 1}
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def test_the_entries_not_in_this_release_whatever_pieces_the_text_comes_in() -> None:
    entries = {
        f"css/{i}.css": {"hashed": f"css/{i}.{i:012x}.css", "size": i, "encodings": {}}
        for i in range(50)
    }
    entries['odd},"name:.css'] = {"hashed": 'odd},"name:.0123456789ab.css', "size": 1}
    text = _manifest(entries)
    current = {e["hashed"] for name, e in entries.items() if name != "css/7.css"}
    for size in (1, 7, 64, len(text)):
        pieces = iter([text[i : i + size] for i in range(0, len(text), size)])
        assert _entries_not_in(pieces, current) == {"css/7.css": entries["css/7.css"]}
    assert _entries_not_in(iter([text]), set()) == entries
    assert _entries_not_in(iter([_manifest({})]), set()) == {}


@pytest.mark.parametrize(
    "text", ["", '{"x":1}', '{"files":{"a":{"hashed":"x"}', '{"files":{"a":{"hashed":"x"},"b":']
)
def test_a_torn_or_foreign_manifest_is_an_error(text: str) -> None:
    with pytest.raises(ValueError):
        _entries_not_in(iter([text]), set())


def test_manifest_encodings_is_a_view_of_the_variants_table() -> None:
    variants = {
        "a.1.css": {"gzip": ["a.1.css.gz", 9, "sha384-g"], "br": ["a.1.css.br", 7, "sha384-b"]},
        "b.2.png": {},
    }
    hashed = {"a.css": "a.1.css", "b.png": "b.2.png", "c.js": "c.3.js"}
    view = manifest_encodings(variants, hashed)
    assert dict(view) == {
        "a.css": {
            "br": {"path": "a.1.css.br", "size": 7, "integrity": "sha384-b"},
            "gzip": {"path": "a.1.css.gz", "size": 9, "integrity": "sha384-g"},
        }
    }
    assert list(view["a.css"]) == ["br", "gzip"] and len(view) == 1
    assert view.get("b.png") is None and "c.js" not in view
