"""The registry of languages: one entry says everything corral knows about a language."""

from __future__ import annotations

import pytest

from corral.fingerprint import DEFAULT_MISSING, FingerprintOptions
from corral.fingerprint.model import Missing
from corral.fingerprint.report import missing_problem
from corral.fingerprint.scan import adjustable, scannable
from corral.fingerprint.urls import resolve
from corral.references import KINDS, LANGUAGES, Language, find_references, language_of

SAMPLES = {
    "css": (
        "@import 'a.css';\na{b:url(b.png);c:image-set('c.png' 1x)}\n"
        "/*# sourceMappingURL=d.css.map */"
    ),
    "javascript": (
        'import a from "./a.js";\nexport * from "./b.js";\nimport("./c.js");\n'
        "//# sourceMappingURL=d.js.map"
    ),
    "source map": '{"version":3,"file":"a.js","mappings":""}',
}


def test_every_language_is_sampled_and_each_suffix_belongs_to_one() -> None:
    assert sorted(SAMPLES) == sorted(lang.name for lang in LANGUAGES)
    suffixes = [s for lang in LANGUAGES for s in lang.suffixes]
    assert len(suffixes) == len(set(suffixes))
    assert all(s == s.lower() and s.startswith(".") for s in suffixes)


@pytest.mark.parametrize("language", LANGUAGES, ids=lambda lang: lang.name)
def test_a_language_finds_exactly_its_kinds(language: Language) -> None:
    text = SAMPLES[language.name]
    for suffix in language.suffixes:
        for name in ("x" + suffix, "dir.v2/X" + suffix.upper()):
            assert language_of(name) is language
            refs = find_references(name, text)
            assert refs is not None
            assert sorted({r.kind for r in refs}) == sorted(language.kinds)
            assert scannable(name)
            assert adjustable(name, FingerprintOptions()) is language.rewritten


@pytest.mark.parametrize("name", ["x.html", "x.json", "x.svg", "x.scss", "x.ts", "css", "x.css/"])
def test_other_files_are_not_scanned(name: str) -> None:
    assert language_of(name) is None
    assert find_references(name, "url(a.png) import('./a.js')") is None
    assert not scannable(name)


def test_every_kind_is_reported_by_a_language_and_has_its_facts() -> None:
    reported = {kind for lang in LANGUAGES for kind in lang.kinds}
    assert reported == set(KINDS)
    assert dict(DEFAULT_MISSING) == {name: kind.missing for name, kind in KINDS.items()}
    assert FingerprintOptions().missing == DEFAULT_MISSING


@pytest.mark.parametrize("name", list(KINDS))
def test_a_kind_is_named_in_messages_and_its_module_flag_decides_bare_names(name: str) -> None:
    kind = KINDS[name]
    problem = missing_problem("a.css", Missing(name, "x.png", "x.png", 1, 1), error=True)
    assert problem.message.startswith(f'{kind.what} reference "x.png"')
    # A bare name is a path for every kind but module specifiers (import maps resolve those).
    assert (resolve("x.png", name, "a.css", "/static/") is None) is kind.module


def test_modules_false_leaves_module_specifiers_out() -> None:
    refs = find_references("x.js", SAMPLES["javascript"], modules=False)
    assert [r.kind for r in refs or []] == ["sourcemap"]
