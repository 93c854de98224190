from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

import corral.loadpath
from corral import BuildError, collect
from corral.build import load_sources
from corral.loadpath import IgnoreRules, _stat_problem, name_clashes, scan
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


def test_a_link_to_a_pseudo_file_is_never_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Which devices are the kernel's is worked out once per process: do it afresh here.
    monkeypatch.setattr(corral.loadpath, "_pseudo_devices", None)
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


# --- what the mutation run of loadpath.py found unguarded (docs/testing.md) --------------


def test_a_listed_source_reports_every_bad_entry_and_still_scans_the_rest(
    tmp_path: Path,
) -> None:
    # A Django finder lists its files; one bad or ignored entry must neither hide the
    # entries after it nor the other problems.
    files = write_tree(tmp_path / "found", {"a.css": "a", "z.css": "z"})
    os.mkfifo(files / "pipe.css")
    (files / "env.txt").symlink_to("/proc/self/environ")
    entries = [
        ("old.css~", files / "a.css"),  # ignored
        ("gone.css", files / "gone.css"),  # missing
        ("a.css", files / "a.css"),
        ("pipe.css", files / "pipe.css"),  # not a regular file
        ("env.txt", files / "env.txt"),  # a kernel pseudo-file
        ("z.css", files / "z.css"),
    ]
    first = ResolvedSource(0, write_tree(tmp_path / "dir", {"d.css": "d"}), "", "dir")
    listed = ResolvedSource(1, files, "", "finder x", tuple((k, str(p)) for k, p in entries))
    loadpath = scan([first, listed], IgnoreRules(("*~",)))
    assert {k: (f.path, f.source) for k, f in loadpath.files.items()} == {
        "d.css": (str(tmp_path / "dir/d.css"), 0),
        "a.css": (str(files / "a.css"), 1),
        "z.css": (str(files / "z.css"), 1),
    }
    assert [(p.code, p.path, p.logical_path, p.hint) for p in loadpath.problems] == [
        (
            "os-error",
            str(files / "gone.css"),
            "gone.css",
            "make it readable by this user, or add an ignore pattern for it",
        ),
        (
            "not-a-file",
            str(files / "pipe.css"),
            "pipe.css",
            "fix what finder x lists, or add an ignore pattern for it",
        ),
        (
            "not-a-file",
            str(files / "env.txt"),
            "env.txt",
            "remove the link, or add an ignore pattern for it",
        ),
    ]
    gone, pipe, env = (p.message for p in loadpath.problems)
    assert gone.startswith("can't read file information: No such file or directory")
    assert pipe == "not a regular file"
    assert env.startswith("a link to /proc/") and env.endswith(
        "a kernel pseudo-file, not content: never read"
    )


@pytest.mark.parametrize(
    ("pattern", "logical", "ignored"),
    [
        ("js/skip.js", "v/js/skip.js", True),  # a path relative to the source
        ("js/skip.js", "v/js/keep.js", False),
        ("v/lib", "v/lib/x.js", True),  # a path naming the logical directory
        ("lib", "v/lib/x.js", True),  # a directory's name on the way
        ("build/", "v/build/x.js", True),  # directories only: a directory on the way
        ("build/", "v/js/build", False),  # ... never a file of that name
        (".*", "v/css/.hidden.css", True),  # a name at any depth
        (".*", "v/.cache/x.css", True),
        ("x.css", "v/css/x.css.map", False),
    ],
)
def test_ignore_rules_apply_to_a_listed_source_with_a_prefix(
    tmp_path: Path, pattern: str, logical: str, ignored: bool
) -> None:
    path = write_tree(tmp_path / "f", {"one": "1"}) / "one"
    listed = ResolvedSource(0, tmp_path / "f", "v", "finder", ((logical, str(path)),))
    files = scan([listed], IgnoreRules((pattern,))).files
    assert (logical not in files) is ignored


def test_link_problems_name_the_link_its_logical_path_and_what_to_do(tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"ok.css": "x"})
    (src / "self.css").symlink_to(src / "self.css")
    (src / "gone.css").symlink_to(src / "nowhere.css")
    (src / "env.txt").symlink_to("/proc/self/environ")
    problems = load_sources(config_for(tmp_path, "src=src")).problems
    found = sorted((p.code, p.path, p.logical_path, p.message, p.hint) for p in problems)
    fix = "fix or remove the link, or add an ignore pattern for it"
    assert found == [
        (
            "broken-symlink",
            str(src / "gone.css"),
            "src/gone.css",
            f"broken symbolic link (points to {str(src / 'nowhere.css')!r}, which does not exist)",
            fix,
        ),
        (
            "not-a-file",
            str(src / "env.txt"),
            "src/env.txt",
            f"a link to {os.path.realpath('/proc/self/environ')}, a kernel pseudo-file, "
            "not content: never read",
            "remove the link, or add an ignore pattern for it",
        ),
        (
            "symlink-loop",
            str(src / "self.css"),
            "src/self.css",
            "symbolic link loop: the link resolves to itself",
            fix,
        ),
    ]


@pytest.mark.parametrize(
    ("error", "code"),
    [(errno.EACCES, "unreadable"), (errno.EPERM, "unreadable"), (errno.EIO, "os-error")],
)
def test_a_file_that_cannot_be_examined_is_a_problem_of_its_own_kind(error: int, code: str) -> None:
    # Root reads everything, so the suite's real permission tests run corral without
    # that privilege in a subprocess; this is the mapping they rely on, in process.
    problem = _stat_problem(OSError(error, os.strerror(error)), "/s/a.css", "a.css")
    assert (problem.code, problem.path, problem.logical_path) == (code, "/s/a.css", "a.css")
    assert problem.message == f"can't read file information: {os.strerror(error)}"
    assert problem.hint == "make it readable by this user, or add an ignore pattern for it"
    bare = _stat_problem(OSError(error, ""), "/s/a.css", "a.css")
    assert bare.message.startswith("can't read file information: [Errno")


def test_a_conflict_is_reported_as_json_with_its_winner_and_every_shadowed_file(
    project: Path,
) -> None:
    [conflict] = load_sources(config_for(project, "assets", "vendor")).conflicts
    assert conflict.to_dict() == {
        "logical_path": "css/app.css",
        "winner": str(project / "assets/css/app.css"),
        "shadowed": [str(project / "vendor/css/app.css")],
    }


def test_a_name_clash_names_the_first_file_and_what_to_do(tmp_path: Path) -> None:
    write_tree(tmp_path / "assets", {"Logo.png": b"1", "logo.png": b"2", "a.css": "a"})
    loadpath = load_sources(config_for(tmp_path, "assets"))
    [clash] = name_clashes(loadpath.files)
    assert (clash.code, clash.path, clash.logical_path) == (
        "name-clash",
        str(tmp_path / "assets/Logo.png"),
        "Logo.png",
    )
    assert clash.message == (
        "these paths differ only in letter case or Unicode normalisation: 'Logo.png', 'logo.png'"
    )
    assert clash.hint == (
        "rename one: on a case-insensitive or normalising file system one replaces the other"
    )


def test_each_bad_name_says_why_no_url_can_carry_it(tmp_path: Path) -> None:
    src = write_tree(
        tmp_path / "src", {"ok.css": "x", "back\\slash.css": "x", "tab\there.css": "x"}
    )
    with open(os.path.join(os.fsencode(src), b"bad\xff.css"), "wb") as fh:
        fh.write(b"x")
    problems = load_sources(config_for(tmp_path, "src")).problems
    assert sorted((p.code, p.message, p.hint) for p in problems) == [
        ("bad-name", f"file name {n!r} {why}", "rename it, or add an ignore pattern for it")
        for n, why in sorted(
            [
                ("back\\slash.css", "contains a backslash, which browsers turn into '/' in URLs"),
                ("tab\there.css", "contains a control character, so no URL can name it reliably"),
                ("bad\udcff.css", "is not valid UTF-8, so no URL can name it reliably"),
            ],
            key=lambda item: f"file name {item[0]!r} {item[1]}",
        )
    ]


def test_a_directory_that_cannot_be_listed_is_named_and_the_rest_is_scanned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root lists every directory, so the refusal is simulated here (the suite's real
    # one runs corral without that privilege in a subprocess, in test_publish.py).
    src = write_tree(tmp_path / "src", {"a/x.css": "x", "b/y.css": "y", "c/z.css": "z"})
    real_scandir = os.scandir

    def refusing(path: str) -> object:
        if str(path) == str(src / "b"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(corral.loadpath.os, "scandir", refusing)
    loadpath = load_sources(config_for(tmp_path, "src"))
    assert sorted(loadpath.files) == ["a/x.css", "c/z.css"]
    assert [(p.code, p.path, p.message, p.hint) for p in loadpath.problems] == [
        (
            "unreadable",
            str(src / "b"),
            "can't list directory: Permission denied",
            "make it readable by this user, or add an ignore pattern for it",
        )
    ]


def test_every_problem_in_a_directory_is_named_and_the_rest_still_scanned(
    tmp_path: Path,
) -> None:
    # One directory holding one of each problem next to good files: each problem names
    # the entry, its logical path and what to do, and none stops the scan of the others.
    src = write_tree(tmp_path / "src", {"a.css": "a", "m/b.css": "b"})
    os.mkfifo(src / "m/pipe")
    (src / "m/loop").symlink_to(src / "m")  # a directory that contains itself
    root = write_tree(tmp_path / "static", {})
    (src / "m/out").symlink_to(root)  # corral's target, reached through a link
    write_tree(src, {"m/z.css": "z"})
    rules = IgnoreRules(())
    loadpath = scan([ResolvedSource(0, src, "p", "src")], rules, (str(root),))
    assert sorted(loadpath.files) == ["p/a.css", "p/m/b.css", "p/m/z.css"]
    link_hint = "remove the link, or add an ignore pattern for it"
    assert sorted((p.code, p.path, p.logical_path, p.hint) for p in loadpath.problems) == [
        (
            "not-a-file",
            str(src / "m/pipe"),
            "p/m/pipe",
            "remove it from the source, or add an ignore pattern for it",
        ),
        ("symlink-loop", str(src / "m/loop"), "p/m/loop", link_hint),
        ("target-in-source", str(src / "m/out"), "p/m/out", link_hint),
    ]
    messages = {p.code: p.message for p in loadpath.problems}
    assert messages["not-a-file"] == "not a regular file (a FIFO, socket or device)"
    assert messages["symlink-loop"] == "symbolic link loop: this directory contains itself"
    assert messages["target-in-source"] == (
        "this directory is corral's target (or its state): a source must never contain it, "
        "or each run would collect the last one"
    )


def test_a_reserved_name_is_refused_at_any_depth_of_a_source_without_a_prefix(
    tmp_path: Path,
) -> None:
    src = write_tree(tmp_path / "src", {".corral/deep/x.css": "x", "css/.corral/y.css": "y"})
    loadpath = scan([ResolvedSource(0, src, "", "src")], IgnoreRules(()))
    assert sorted(loadpath.files) == ["css/.corral/y.css"]  # only a top-level name is corral's
    [problem] = loadpath.problems
    assert (problem.code, problem.path) == ("reserved-path", str(src / ".corral/deep/x.css"))
    assert problem.hint == "rename it or ignore it (the default '.*' pattern does)"
    assert problem.message == "logical path '.corral/deep/x.css' is reserved for corral's own use"


def test_a_file_and_a_directory_of_the_same_path_are_found_at_any_depth(tmp_path: Path) -> None:
    one = write_tree(tmp_path / "one", {"a/b": "a file", "x/y.css": "y"})
    two = write_tree(tmp_path / "two", {"a/b/c/d.css": "deep", "a/b/e.css": "e"})
    sources = [ResolvedSource(0, one, "", "one"), ResolvedSource(1, two, "", "two")]
    problems = scan(sources, IgnoreRules(())).problems
    assert [(p.code, p.path, p.logical_path, p.hint) for p in problems] == [
        (
            "file-directory-clash",
            str(one / "a/b"),
            "a/b",
            "rename one of them, give one source a prefix, or ignore one",
        )
    ]
    assert problems[0].message == (
        f"'a/b' is a file ({one / 'a/b'}) and also a directory (holding {two / 'a/b/c/d.css'})"
    )
