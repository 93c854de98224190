from __future__ import annotations

import os
from pathlib import Path

import pytest

from corral import BuildError, collect
from corral.build import load_sources
from corral.loadpath import IgnoreRules, scan
from corral.sources import ResolvedSource

from .conftest import config_for, write_tree


def codes(problems: list) -> list[str]:  # type: ignore[type-arg]
    return [p.code for p in problems]


def test_first_source_wins_and_every_conflict_is_recorded(project: Path) -> None:
    write_tree(project / "third", {"css/app.css": "third\n"})
    loadpath = load_sources(config_for(project, "assets", "vendor", "third"))
    assert loadpath.files["css/app.css"].path == str(project / "assets/css/app.css")
    assert sorted(loadpath.files) == ["css/app.css", "js/app.js", "lib/lib.js"]
    [conflict] = loadpath.conflicts
    assert conflict.logical == "css/app.css"
    assert [f.path for f in conflict.shadowed] == [
        str(project / "vendor/css/app.css"),
        str(project / "third/css/app.css"),
    ]


def test_prefix_puts_a_source_under_a_logical_directory(project: Path) -> None:
    loadpath = load_sources(config_for(project, "assets", "vendor/v=vendor"))
    assert "vendor/v/css/app.css" in loadpath.files
    assert loadpath.conflicts == []


def test_default_ignores_follow_django(project: Path) -> None:
    write_tree(
        project / "assets",
        {".hidden": "x", "CVS/Entries": "x", "css/app.css~": "x", ".git/config": "x"},
    )
    assert sorted(load_sources(config_for(project, "assets")).files) == ["css/app.css", "js/app.js"]
    everything = load_sources(config_for(project, "assets", default_ignore=False))
    assert {".hidden", "CVS/Entries", "css/app.css~", ".git/config"} <= set(everything.files)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("js/vendor", ["js/app.js", "js/vendored.js"]),  # a directory by relative path
        ("vendor", ["js/app.js", "js/vendored.js"]),  # a directory by name
        ("js/vendor/", ["js/app.js", "js/vendored.js"]),  # directories only
        ("*.map", ["js/app.js", "js/vendor/lib.js", "js/vendored.js"]),
        ("js/vendor/lib.js", ["js/app.js", "js/vendor/lib.js.map", "js/vendored.js"]),
        ("js/vendored.js", ["js/app.js", "js/vendor/lib.js", "js/vendor/lib.js.map"]),
    ],
)
def test_ignore_patterns_match_names_and_relative_paths(
    tmp_path: Path, pattern: str, expected: list[str]
) -> None:
    write_tree(
        tmp_path / "src",
        {
            "js/app.js": "a",
            "js/vendor/lib.js": "b",
            "js/vendor/lib.js.map": "c",
            "js/vendored.js": "d",
        },
    )
    loadpath = load_sources(config_for(tmp_path, "src", ignore=(pattern,)))
    assert sorted(loadpath.files) == expected


def test_ignore_matches_logical_path_of_prefixed_source(tmp_path: Path) -> None:
    write_tree(tmp_path / "node_modules/x", {"dist/x.js": "x", "src/x.ts": "y"})
    loadpath = load_sources(
        config_for(tmp_path, "vendor/x=node_modules/x", ignore=("vendor/x/src",))
    )
    assert sorted(loadpath.files) == ["vendor/x/dist/x.js"]


def test_trailing_slash_pattern_spares_files_of_that_name() -> None:
    rules = IgnoreRules(("build/",))
    assert rules.ignores("build", "build", "build", is_dir=True)
    assert not rules.ignores("build", "build", "build", is_dir=False)


def test_names_with_spaces_unicode_hash_and_question_mark_are_collected(tmp_path: Path) -> None:
    names = ["my file.css", "ünïcødé/日本.js", "font#iefix.eot", "what?.txt", "100%.png"]
    write_tree(tmp_path / "src", dict.fromkeys(names, "x"))
    loadpath = load_sources(config_for(tmp_path, "src"))
    assert sorted(loadpath.files) == sorted(names)
    assert loadpath.problems == []


def test_non_utf8_and_control_character_names_are_problems(tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"ok.css": "x"})
    with open(os.path.join(os.fsencode(src), b"bad\xff.css"), "wb") as fh:
        fh.write(b"x")
    (src / "tab\there.css").write_text("x")
    loadpath = load_sources(config_for(tmp_path, "src"))
    assert sorted(codes(loadpath.problems)) == ["bad-name", "bad-name"]
    assert "not valid UTF-8" in " ".join(p.message for p in loadpath.problems)
    assert list(loadpath.files) == ["ok.css"]


def test_broken_symlink_is_a_problem_naming_the_link(tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"ok.css": "x"})
    (src / "gone.css").symlink_to(src / "nowhere.css")
    [problem] = load_sources(config_for(tmp_path, "src")).problems
    assert problem.code == "broken-symlink"
    assert problem.path == str(src / "gone.css")
    assert "nowhere.css" in problem.message
    assert problem.hint


def test_symlink_loops_are_problems_not_hangs(tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a/ok.css": "x"})
    (src / "a/back").symlink_to(src)  # a directory that contains itself
    (src / "self").symlink_to(src / "self")  # a link to itself
    loadpath = load_sources(config_for(tmp_path, "src"))
    assert sorted(codes(loadpath.problems)) == ["symlink-loop", "symlink-loop"]
    assert list(loadpath.files) == ["a/ok.css"]


def test_symlinked_files_and_directories_are_followed(tmp_path: Path) -> None:
    outside = write_tree(tmp_path / "outside", {"lib.js": "lib"})
    src = write_tree(tmp_path / "src", {"ok.css": "x"})
    (src / "lib").symlink_to(outside)
    (src / "alias.css").symlink_to(src / "ok.css")
    assert sorted(load_sources(config_for(tmp_path, "src")).files) == [
        "alias.css",
        "lib/lib.js",
        "ok.css",
    ]


def test_file_and_directory_with_the_same_logical_path_is_a_problem(tmp_path: Path) -> None:
    write_tree(tmp_path / "a", {"icons": "a file"})
    write_tree(tmp_path / "b", {"icons/x.svg": "<svg/>"})
    [problem] = load_sources(config_for(tmp_path, "a", "b")).problems
    assert problem.code == "file-directory-clash"
    assert problem.logical_path == "icons"
    assert str(tmp_path / "a/icons") in problem.message
    assert str(tmp_path / "b/icons/x.svg") in problem.message


def test_fifo_in_a_source_is_a_problem(tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"ok.css": "x"})
    os.mkfifo(src / "pipe")
    assert codes(load_sources(config_for(tmp_path, "src")).problems) == ["not-a-file"]


def test_missing_source_directory_is_a_problem(tmp_path: Path) -> None:
    write_tree(tmp_path / "src", {"ok.css": "x"})
    loadpath = load_sources(config_for(tmp_path, "src", "nope", "also-nope"))
    assert codes(loadpath.problems) == ["missing-source", "missing-source"]
    assert "does not exist" in loadpath.problems[0].message
    assert list(loadpath.files) == ["ok.css"]


def test_reserved_state_directory_name_is_refused(tmp_path: Path) -> None:
    write_tree(tmp_path / "src", {".corral/state.json": "{}"})
    loadpath = load_sources(config_for(tmp_path, "src", default_ignore=False))
    assert codes(loadpath.problems) == ["reserved-path"]


def test_a_dot_prefix_collects_as_django_does(tmp_path: Path) -> None:
    # Django's default ignore pattern ".*" is about names: it never matches a prefix the
    # user chose for a source (".well-known=DIR", STATICFILES_DIRS=[(".well-known", ...)]).
    write_tree(tmp_path / "wk", {"security.txt": "Contact: x", ".hidden": "no"})
    rules = IgnoreRules((".*", "*~"))
    found = scan([ResolvedSource(0, tmp_path / "wk", ".well-known", "wk")], rules)
    assert sorted(found.files) == [".well-known/security.txt"]
    listed = ResolvedSource(
        0,
        tmp_path / "wk",
        ".well-known",
        "listed",
        ((".well-known/security.txt", str(tmp_path / "wk/security.txt")),),
    )
    assert sorted(scan([listed], rules).files) == [".well-known/security.txt"]
    # A pattern naming a path still matches the logical path.
    assert scan([ResolvedSource(0, tmp_path / "wk", "x", "wk")], IgnoreRules(("x/*",))).files == {}


def test_a_source_reaching_the_target_through_a_link_is_refused(tmp_path: Path) -> None:
    write_tree(tmp_path / "assets", {"a.css": "a{}"})
    root = tmp_path / "static_root"
    collect(config_for(tmp_path, "assets"))
    (tmp_path / "assets/up").symlink_to(tmp_path)  # the project, root and state included
    for _ in range(2):
        with pytest.raises(BuildError) as caught:
            collect(config_for(tmp_path, "assets"))
        codes = {p.code for p in caught.value.problems}
        assert "target-in-source" in codes
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == ["a.css"]


def test_a_link_to_a_pseudo_file_is_never_read(tmp_path: Path) -> None:
    write_tree(tmp_path / "assets", {"a.css": "a{}"})
    (tmp_path / "assets/env.txt").symlink_to("/proc/self/environ")
    with pytest.raises(BuildError) as caught:
        collect(config_for(tmp_path, "assets"))
    [problem] = caught.value.problems
    assert problem.code == "not-a-file" and "pseudo-file" in problem.message
    assert not (tmp_path / "static_root/env.txt").exists()


def test_names_alike_but_for_case_or_normalisation_are_warned_about(tmp_path: Path) -> None:
    nfc, nfd = "caf\u00e9.css", "cafe\u0301.css"
    write_tree(tmp_path / "assets", {"Logo.png": b"1", "logo.png": b"2", nfc: "a", nfd: "b"})
    report = collect(config_for(tmp_path, "assets"))
    clashes = sorted(w.message for w in report.warnings if w.code == "name-clash")
    assert len(clashes) == 2
    assert "'Logo.png', 'logo.png'" in clashes[0] or "'Logo.png', 'logo.png'" in clashes[1]
    again = collect(config_for(tmp_path, "assets"))  # nothing new: not said again
    assert [w for w in again.warnings if w.code == "name-clash"] == []
