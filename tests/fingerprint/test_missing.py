"""Missing references: all reported at once, by policy, with the setting that accepts them."""

from __future__ import annotations

import pytest

from corral.errors import ConfigError
from corral.fingerprint import FingerprintOptions

from .helpers import run

TREE = {
    "css/app.css": (
        b"a{background:url(../img/gone.png)}\n"
        b'@import "gone.css";\n'
        b"/* url(in-a-comment.png) */\n"
        b"b{background:image-set('x1.png' 1x)}\n"
        b"c{background:url(../../above.png)}\n"
        b"/*# sourceMappingURL=app.css.map */\n"
    ),
    "js/app.js": (
        b'import {a} from "./gone.js";\n'
        b"const s = 'import x from \"./in-a-string.js\"';\n"
        b'const l = () => import("./lazy-gone.js");\n'
        b"//# sourceMappingURL=app.min.js.map\n"
    ),
    "js/app.js.map": b'{"version":3,"file":"renamed.js","mappings":""}',
}


def test_all_missing_references_are_reported_together() -> None:
    result = run(TREE)
    found = [(p.logical_path, p.line, p.column, p.reference) for p in result.problems]
    assert found == [
        ("css/app.css", 1, 18, "../img/gone.png"),
        ("css/app.css", 2, 10, "gone.css"),
        ("css/app.css", 4, 25, "x1.png"),
        ("css/app.css", 5, 18, "../../above.png"),
        ("js/app.js", 1, 18, "./gone.js"),
        ("js/app.js", 3, 25, "./lazy-gone.js"),
    ]
    warned = [(p.logical_path, p.line, p.reference) for p in result.warnings]
    assert warned == [
        ("css/app.css", 6, "app.css.map"),
        ("js/app.js", 4, "app.min.js.map"),
        ("js/app.js.map", 1, "renamed.js"),
    ]
    assert {p.code for p in result.problems + result.warnings} == {"missing-reference"}
    # Left as written: nothing was rewritten.
    assert result.contents == {}


def test_message_and_hint_name_the_exact_setting() -> None:
    problem = run(TREE).problems[0]
    assert str(problem) == (
        'css/app.css:1:18: url() reference "../img/gone.png" names "img/gone.png", '
        "which is not a collected file\n"
        '  hint: ship "img/gone.png" in a source, fix the reference, or add "img/gone.png" '
        "to accept_missing in [tool.corral] to leave it as written, "
        'or set missing.url = "warn" or "ignore"'
    )
    above = run(TREE).problems[3]
    assert above.message == (
        'url() reference "../../above.png" climbs out of the static root '
        '(it resolves to "../above.png")'
    )
    assert above.hint is not None and 'add "../above.png" to accept_missing' in above.hint


def test_warning_hint_offers_ignore() -> None:
    warning = run(TREE).warnings[0]
    assert warning.hint == (
        'add "css/app.css.map" to accept_missing in [tool.corral] to leave it as written, '
        'or set missing.sourcemap = "ignore"'
    )


def test_glob_characters_are_escaped_in_the_hint() -> None:
    [problem] = run({"a.css": b"a{b:url(x[1]*.png)}"}).problems
    assert problem.hint is not None and 'add "x[[]1][*].png" to accept_missing' in problem.hint
    assert (
        run(
            {"a.css": b"a{b:url(x[1]*.png)}"}, FingerprintOptions(accept_missing=("x[[]1][*].png",))
        ).problems
        == []
    )


def test_policies_per_kind() -> None:
    options = FingerprintOptions(
        missing={"url": "warn", "import": "ignore", "sourcemap": "error", "module": "ignore"}
    )
    result = run(TREE, options)
    assert sorted((p.reference or "") for p in result.problems) == [
        "./lazy-gone.js",
        "app.css.map",
        "app.min.js.map",
        "x1.png",
    ]
    assert sorted((p.reference or "") for p in result.warnings) == [
        "../../above.png",
        "../img/gone.png",
        "renamed.js",
    ]


def test_accept_missing_globs_match_the_resolved_path() -> None:
    options = FingerprintOptions(accept_missing=("img/*", "js/*gone*.js", "*.map", "../*"))
    result = run(TREE, options)
    assert [p.reference for p in result.problems] == ["gone.css", "x1.png"]
    assert [p.reference for p in result.warnings] == ["renamed.js"]
    # Accepted references are still recorded, so a reused file knows them.
    assert len(result.fingerprints["js/app.js"].missing) == 3


def test_bad_policies_are_config_errors() -> None:
    with pytest.raises(ConfigError) as info:
        FingerprintOptions(missing={"url": "fatal"})  # type: ignore[dict-item]
    assert info.value.key == "missing.url"
    with pytest.raises(ConfigError) as info:
        FingerprintOptions(missing={"urls": "warn"})  # type: ignore[dict-item]
    assert info.value.key == "missing.urls" and "url" in (info.value.hint or "")


def test_extensionless_specifiers_point_at_the_bundler_file() -> None:
    tree = {
        "esm/index.js": b'export * from "./internal/Observable";\n',
        "esm/internal/Observable.js": b"",
    }
    [problem] = run(tree).problems
    assert problem.message.endswith(
        '(there is "esm/internal/Observable.js", but browsers add no extension or index.js: '
        "this module is meant for a bundler or Node)"
    )


def test_a_root_absolute_reference_that_climbs_back_under_the_static_url_is_no_escape() -> None:
    # A browser resolves /static/../static/x.png to /static/x.png before asking for it.
    tree = {
        "css/app.css": b"a{background:url(/static/../static/img/x.png)}\n",
        "img/x.png": b"png",
    }
    result = run(tree)
    assert result.problems == [] and result.warnings == []
    name = result.fingerprints["img/x.png"].hashed.rpartition("/")[2]
    # The directory part stays as written (as Django's url_converter keeps it).
    expected = f'a{{background:url("/static/../static/img/{name}")}}\n'
    assert result.contents["css/app.css"] == expected.encode()
