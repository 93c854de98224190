"""``manage.py collectstatic`` on corral: Django's interface, corral's run underneath.

Django's messages, summary line, options and prompt, checked verbatim; and what corral adds
underneath, checked on the files: content-based change detection, a no-change run that
writes nothing, releases, pruning after publishing, and a failed run that leaves the last
release exactly as it was.
"""

from __future__ import annotations

import builtins
import json
import os
import re
import time
from pathlib import Path

import pytest
from django.contrib.staticfiles.storage import ManifestStaticFilesStorage, staticfiles_storage
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import FileSystemStorage
from django.core.management.base import BaseCommand, CommandError
from django.template import Context, Template

from corral.contrib.django.management.commands import collectstatic
from corral.state import RACY_NS

from ...conftest import served_files, snapshot, state_path
from .conftest import (
    CORRAL_MANIFEST,
    CORRAL_STORAGE,
    DJANGO_6,
    QUIET_LEVEL,
    Project,
    reset_caches,
    storages,
)

CONFLICT = (
    "Found another file with the destination path '{}'. It will be ignored since only the "
    "first encountered file is collected. If this is not what you want, make sure every "
    "static file has a unique path."
)

SITE = {
    "css/app.css": 'body { background: url("../img/bg.png"); }\n',
    "img/bg.png": b"\x89PNG fake image bytes",
    "js/app.js": "console.log('app');\n",
}


def hashed_names(root: Path) -> dict[str, str]:
    manifest = json.loads((root / "staticfiles.json").read_text(encoding="utf-8"))
    paths = manifest["paths"]
    assert isinstance(paths, dict)
    return paths


def summary(
    count: int,
    root: Path,
    unmodified: int = 0,
    post_processed: int = 0,
    *,
    deleted: int = 0,
    skipped: int = 0,
) -> str:
    """Django's summary line, as the installed version's collectstatic prints it.

    ``deleted`` and ``skipped`` are counted by Django 6.0 and later only.
    """
    text = "\n"
    if DJANGO_6 and deleted:
        text += f"{deleted} static file{'' if deleted == 1 else 's'} deleted, "
    text += f"{count} static file{'' if count == 1 else 's'} copied to '{root}'"
    if unmodified:
        text += f", {unmodified} unmodified"
    if post_processed:
        text += f", {post_processed} post-processed"
    if DJANGO_6 and skipped:
        text += f", {skipped} skipped due to conflict"
    return text + ".\n"


# --- Django's messages ---------------------------------------------------------------------


def test_summary_line_is_djangos(django_project: Project) -> None:
    django_project.write({"a.txt": "a", "b.txt": "b"})
    root = django_project.root
    assert django_project.collectstatic().stdout == summary(2, root)
    assert django_project.collectstatic().stdout == summary(0, root, unmodified=2)
    (django_project.assets / "a.txt").write_text("A")
    assert django_project.collectstatic().stdout == summary(1, root, unmodified=1)


def test_summary_line_counts_post_processed_files(django_project: Project) -> None:
    django_project.write(SITE)
    django_project.configure(STORAGES=storages(CORRAL_MANIFEST))
    root = django_project.root
    assert django_project.collectstatic().stdout == summary(3, root, post_processed=3)
    # As Django counts them: the files its patterns rewrite (CSS, JS) on every run, the
    # others only when their hashed copy is new (test_against_django.py runs Django too).
    again = django_project.collectstatic().stdout
    assert again == summary(0, root, unmodified=3, post_processed=2)
    (django_project.assets / "img/bg.png").write_bytes(b"\x89PNG other bytes")
    changed = django_project.collectstatic().stdout
    assert changed == summary(1, root, unmodified=2, post_processed=3)


def test_conflicts_are_reported_as_django_does(django_project: Project) -> None:
    django_project.write({"css/app.css": "first", "only.txt": "x"})
    second = django_project.write({"css/app.css": "second"}, "second")
    third = django_project.write({"css/app.css": "third"}, "third")
    django_project.configure(STATICFILES_DIRS=[str(django_project.assets), str(second), str(third)])
    message = CONFLICT.format("css/app.css")
    for verbosity in (1, 2):
        run = django_project.collectstatic(verbosity=verbosity)
        # Once per file that is ignored, as Django logs it (from verbosity 2 on Django 6),
        # then the summary (counting them on Django 6).
        logged = f"{message}\n{message}\n" if verbosity >= QUIET_LEVEL else ""
        assert run.stdout.startswith(logged)
        if verbosity == 1:
            assert run.stdout == logged + summary(2, django_project.root, skipped=2)
        else:  # the second run: nothing copied, and each file's line before the summary
            line = summary(0, django_project.root, unmodified=2, skipped=2).strip()
            assert line in run.stdout.splitlines()
        assert (django_project.root / "css/app.css").read_text() == "first"
        assert run.stderr == ""


def test_verbosity_0_prints_nothing(django_project: Project) -> None:
    django_project.write({"css/app.css": "first"})
    second = django_project.write({"css/app.css": "second"}, "second")
    django_project.configure(STATICFILES_DIRS=[str(django_project.assets), str(second)])
    for _ in range(2):
        run = django_project.collectstatic(verbosity=0)
        assert (run.stdout, run.stderr) == ("", "")
    assert (django_project.root / "css/app.css").read_text() == "first"


def test_verbosity_2_names_each_copy_and_skip(django_project: Project) -> None:
    django_project.write({"css/app.css": "a", "js/app.js": "b"})
    run = django_project.collectstatic(verbosity=2)
    lines = run.stdout.splitlines()
    for name in ("css/app.css", "js/app.js"):
        assert f"Copying '{django_project.assets / name}'" in lines
    run = django_project.collectstatic(verbosity=2)
    lines = run.stdout.splitlines()
    assert "Skipping 'css/app.css' (not modified)" in lines
    assert "Skipping 'js/app.js' (not modified)" in lines
    assert not any(line.startswith("Copying") for line in lines)


def test_per_file_lines_appear_at_verbosity_2_only(django_project: Project) -> None:
    django_project.write(SITE)
    django_project.configure(STORAGES=storages(CORRAL_MANIFEST))
    quiet = django_project.collectstatic(verbosity=1).stdout.splitlines()
    assert not any(line.startswith(("Post-processed '", "Skipping '")) for line in quiet)
    lines = django_project.collectstatic(verbosity=2).stdout.splitlines()
    manifest = json.loads((django_project.root / "staticfiles.json").read_text())["paths"]
    for name in SITE:
        assert f"Skipping '{name}' (not modified)" in lines
    # Django rewrites CSS and JS on every run; a file its patterns don't touch is skipped
    # once its hashed copy exists.
    for name in ("css/app.css", "js/app.js"):
        assert f"Post-processed '{name}' as '{manifest[name]}'" in lines
    assert "Skipped post-processing 'img/bg.png'" in lines


# --- dry run -------------------------------------------------------------------------------


def test_dry_run_on_a_new_root_writes_nothing(django_project: Project) -> None:
    django_project.write(SITE)
    django_project.configure(STORAGES=storages(CORRAL_MANIFEST))
    run = django_project.collectstatic("--dry-run")
    assert not django_project.root.exists()  # not even .corral
    for name in SITE:
        assert f"Pretending to copy '{django_project.assets / name}'" in run.stdout.splitlines()


def test_dry_run_on_a_collected_root_writes_nothing(django_project: Project) -> None:
    django_project.write(SITE)
    django_project.configure(STORAGES=storages(CORRAL_MANIFEST))
    django_project.collectstatic()
    (django_project.assets / "js/app.js").write_text("console.log('changed');\n")
    django_project.write({"js/new.js": "new"})
    before = snapshot(django_project.root)
    run = django_project.collectstatic("--dry-run", "--clear")
    assert snapshot(django_project.root) == before
    lines = run.stdout.splitlines()
    assert f"Pretending to copy '{django_project.assets / 'js/app.js'}'" in lines
    assert f"Pretending to copy '{django_project.assets / 'js/new.js'}'" in lines
    assert not any("css/app.css" in line and "Pretending to copy" in line for line in lines)


# --- incremental, by content ---------------------------------------------------------------


def test_a_no_change_run_writes_nothing(django_project: Project) -> None:
    django_project.write(SITE)
    django_project.configure(STORAGES=storages(CORRAL_MANIFEST))
    # Sources younger than RACY_NS are re-read and, once old enough to be trusted, their
    # record is refreshed (docs/design.md): let them settle, so that timing can't decide.
    time.sleep(RACY_NS / 1e9 + 0.1)
    django_project.collectstatic()
    before = snapshot(django_project.root)  # every entry, .corral's included
    run = django_project.collectstatic()
    assert snapshot(django_project.root) == before
    assert run.stdout == summary(0, django_project.root, unmodified=3, post_processed=2)


def test_an_edit_that_keeps_size_and_mtime_is_collected(django_project: Project) -> None:
    source = django_project.write({"js/app.js": "console.log(1);\n"}) / "js/app.js"
    django_project.collectstatic()
    st = source.stat()
    source.write_text("console.log(2);\n")  # same size, same second
    os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the mtime put back
    assert source.stat().st_mtime_ns == st.st_mtime_ns
    run = django_project.collectstatic()
    assert (django_project.root / "js/app.js").read_text() == "console.log(2);\n"
    assert run.stdout == summary(1, django_project.root)


# --- --clear -------------------------------------------------------------------------------


def test_clear_removes_a_hand_placed_file_after_publishing(django_project: Project) -> None:
    django_project.write(SITE)
    django_project.configure(STORAGES=storages(CORRAL_MANIFEST))
    django_project.collectstatic()
    root = django_project.root
    old = hashed_names(root)
    (root / "hand-placed.txt").write_text("by hand")

    # A run that fails publishes nothing, so --clear must not have removed anything.
    (django_project.assets / "css/app.css").write_text("body { background: url(gone.png); }\n")
    before = snapshot(root, scratch=False)
    with pytest.raises(CommandError, match=r"gone\.png"):
        django_project.collectstatic("--clear")
    assert snapshot(root, scratch=False) == before

    # A run that succeeds: the new release is complete, everything else is gone.
    (django_project.assets / "css/app.css").write_text("body { color: red; }\n")
    run = django_project.collectstatic("--clear", verbosity=QUIET_LEVEL)
    new = hashed_names(root)
    assert new["css/app.css"] != old["css/app.css"]
    manifests = {"staticfiles.json", "corral-manifest.json"}
    assert set(served_files(root)) == {*SITE, *new.values(), *manifests}
    assert (root / new["img/bg.png"]).read_bytes() == SITE["img/bg.png"]
    deleted = ["hand-placed.txt", old["css/app.css"]]  # and the old CSS's variants, if any
    for name in deleted:
        assert f"Deleting '{name}'" in run.stdout.splitlines()
    count = sum(line.startswith("Deleting '") for line in run.stdout.splitlines())
    assert count == len(deleted)
    # What --clear deleted, counted as Django 6 counts it: files removed from the root.
    line = summary(1, root, unmodified=2, post_processed=2, deleted=count).strip()
    assert line in run.stdout.splitlines()


# --- --link --------------------------------------------------------------------------------


def test_link_makes_symlinks_and_back_makes_files(django_project: Project) -> None:
    django_project.write({"css/app.css": "a", "js/app.js": "b"})
    root = django_project.root
    run = django_project.collectstatic("--link")
    assert run.stdout == summary(2, root).replace("copied", "symlinked")
    for name in ("css/app.css", "js/app.js"):
        assert (root / name).is_symlink()
        assert Path(os.readlink(root / name)) == django_project.assets / name

    run = django_project.collectstatic()
    for name, content in (("css/app.css", "a"), ("js/app.js", "b")):
        assert not (root / name).is_symlink()
        assert (root / name).read_text() == content
    # Switching back rewrites the files: Django won't skip a symlink in copy mode either.
    assert run.stdout == summary(2, root)


# --- post-processing options ---------------------------------------------------------------


def test_no_post_process_keeps_the_last_manifest_and_hashed_files(
    django_project: Project,
) -> None:
    django_project.write(SITE)
    django_project.configure(STORAGES=storages(CORRAL_MANIFEST))
    django_project.collectstatic()
    root = django_project.root
    manifest = (root / "staticfiles.json").read_bytes()
    old = hashed_names(root)
    (django_project.assets / "js/app.js").write_text("console.log('v2');\n")

    run = django_project.collectstatic("--no-post-process")
    assert run.stdout == summary(1, root, unmodified=2)
    assert (root / "staticfiles.json").read_bytes() == manifest
    assert (root / "js/app.js").read_text() == "console.log('v2');\n"
    for name, hashed in old.items():
        assert (root / hashed).is_file(), name
    assert sorted(p.name for p in (root / "js").iterdir()) == sorted(
        ["app.js", Path(old["js/app.js"]).name]
    )


def test_keep_prunes_hashed_files_of_older_releases(django_project: Project) -> None:
    css = django_project.write(SITE) / "css/app.css"
    django_project.configure(STORAGES=storages(CORRAL_MANIFEST))
    root = django_project.root
    names = []
    for version in range(3):
        css.write_text(f"body {{ z-index: {version}; }}\n")
        django_project.collectstatic("--keep", "1")
        names.append(hashed_names(root)["css/app.css"])
    assert len(set(names)) == 3
    assert not (root / names[0]).exists()  # two releases before the current one
    assert (root / names[1]).is_file()  # the one release kept before the current one
    assert (root / names[2]).is_file()


def test_json_prints_only_corrals_report(django_project: Project) -> None:
    django_project.write({"css/app.css": "first", "js/app.js": "x"})
    second = django_project.write({"css/app.css": "second"}, "second")
    django_project.configure(STATICFILES_DIRS=[str(django_project.assets), str(second)])
    run = django_project.collectstatic("--json")
    report = json.loads(run.stdout)  # nothing else on stdout: messages go to stderr
    # Django logs a conflict at verbosity 1 (2 on Django 6): on stderr under --json.
    assert run.stderr == ("" if DJANGO_6 else CONFLICT.format("css/app.css") + "\n")
    assert django_project.collectstatic("--json", verbosity=2).stderr.startswith(
        CONFLICT.format("css/app.css") + "\n"
    )
    assert report["release"] == 1
    assert report["published"] is True
    assert sorted(report["new"]) == ["css/app.css", "js/app.js"]
    assert report["counts"]["conflicts"] == 1
    assert report["root"] == str(django_project.root)
    run = django_project.collectstatic("--json")
    assert json.loads(run.stdout)["counts"]["unchanged"] == 2


# --- a run with problems -------------------------------------------------------------------


def test_missing_references_fail_the_command_and_keep_the_last_release(
    django_project: Project,
) -> None:
    django_project.write(SITE)
    django_project.configure(STORAGES=storages(CORRAL_MANIFEST))
    first = django_project.manage("collectstatic", "--noinput")
    assert first.returncode == 0, first.stderr
    root = django_project.root
    published = served_files(root)
    assert "staticfiles.json" in published

    django_project.write(
        {
            "css/app.css": "body {\n  background: url('../img/missing-one.png');\n}\n",
            "css/other.css": "/* two */\n\n.x { background: url(missing-two.png); }\n",
        }
    )
    failed = django_project.manage("collectstatic", "--noinput")
    assert failed.returncode == 1
    assert failed.stdout == ""
    err = failed.stderr
    assert err.startswith("CommandError: 2 problems found; nothing was published")
    assert "Traceback" not in err
    lines = err.splitlines()
    # Each problem names the referencing file and line, and the reference as written.
    for where, reference in (
        (f"{django_project.assets / 'css/app.css'}:2:", '"../img/missing-one.png"'),
        (f"{django_project.assets / 'css/other.css'}:3:", '"missing-two.png"'),
    ):
        assert any(where in line and reference in line for line in lines), (where, err)
    assert served_files(root) == published  # every byte, staticfiles.json included
    # The hint names the Django setting that would accept it, not corral's pyproject table.
    assert "[tool.corral]" not in err
    assert (
        "the accept_missing option (OPTIONS of corral.contrib.django.storage.CorralStorage" in err
    )


def test_missing_reference_hint_names_corral_storage_options(django_project: Project) -> None:
    django_project.write({"css/app.css": "a { background: url(gone.png); }\n"})
    django_project.configure(STORAGES=storages(CORRAL_STORAGE, compress=False))
    with pytest.raises(CommandError) as caught:
        django_project.collectstatic()
    message = str(caught.value)
    assert (
        'add "css/gone.png" to the accept_missing option (STORAGES["staticfiles"]["OPTIONS"])'
        in message
    )
    assert 'set the "url" entry of the missing option to "warn" or "ignore"' in message


def test_a_bad_lock_wait_is_a_command_error(
    django_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    django_project.write({"css/app.css": "x"})
    monkeypatch.setenv("CORRAL_LOCK_WAIT", "soon")
    with pytest.raises(CommandError, match="CORRAL_LOCK_WAIT must be a number of seconds"):
        django_project.collectstatic()
    assert not django_project.root.exists()


# --- the prompt ----------------------------------------------------------------------------


def test_prompt_cancels_unless_yes(
    django_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    django_project.write({"a.txt": "a"})
    django_project.collectstatic()
    (django_project.assets / "a.txt").write_text("changed")
    prompts: list[str] = []

    def answer(reply: str) -> None:
        def fake_input(prompt: str = "") -> str:
            prompts.append(prompt)
            return reply

        monkeypatch.setattr(builtins, "input", fake_input)

    answer("no")
    with pytest.raises(CommandError, match=r"^Collecting static files cancelled\.$"):
        django_project.collectstatic(interactive=True)
    assert "This will overwrite existing files!" in prompts[-1]
    assert (django_project.root / "a.txt").read_text() == "a"

    answer("yes")
    django_project.collectstatic(interactive=True)
    assert (django_project.root / "a.txt").read_text() == "changed"
    assert len(prompts) == 2


def test_no_prompt_for_an_empty_root(
    django_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    django_project.write({"a.txt": "a"})

    def no_input(prompt: str = "") -> str:
        raise AssertionError(f"prompted: {prompt}")

    monkeypatch.setattr(builtins, "input", no_input)
    django_project.collectstatic(interactive=True)
    assert (django_project.root / "a.txt").read_text() == "a"


# --- the manifest in this process ------------------------------------------------------------


def test_static_tag_renders_the_new_hashed_url_right_away(django_project: Project) -> None:
    css = django_project.write(SITE) / "css/app.css"
    django_project.configure(STORAGES=storages(CORRAL_MANIFEST))
    assert staticfiles_storage.hashed_files == {}  # the storage exists before the run
    template = Template("{% load static %}{% static 'css/app.css' %}")
    for version in range(2):
        css.write_text(f"body {{ z-index: {version}; }}\n")
        django_project.collectstatic()
        expected = "/static/" + hashed_names(django_project.root)["css/app.css"]
        assert template.render(Context()) == expected


# --- what corral does not stand in for -----------------------------------------------------


class FixedHash(ManifestStaticFilesStorage):
    """Django's algorithm, customised: only Django's own post-processing can honour it."""

    def file_hash(self, name: str, content: object = None) -> str:
        return "fixedhash000"


def test_json_with_djangos_own_collection_is_still_json(django_project: Project) -> None:
    django_project.write(SITE)
    django_project.configure(STORAGES=storages(f"{__name__}.FixedHash"))
    report = json.loads(django_project.collectstatic("--json").stdout)
    assert report["collected_by"] == "django"
    assert "overrides file_hash" in report["reason"]
    assert report["counts"] == {"modified": 3, "unmodified": 0}
    assert report["post_processed"] == 3


def test_pruning_beyond_keep_is_not_reported_as_deleting(django_project: Project) -> None:
    css = django_project.write(SITE) / "css/app.css"
    django_project.configure(STORAGES=storages(CORRAL_MANIFEST))
    for version in range(2):
        css.write_text(f"body {{ z-index: {version}; }}\n")
        run = django_project.collectstatic("--keep", "0", verbosity=2)
    assert "Deleting" not in run.stdout  # Django says that only for --clear
    assert re.search(r"Pruned 'css/app\.[0-9a-f]{12}\.css' \(no kept release uses it\)", run.stdout)


def test_a_customised_storage_gets_djangos_own_collection(django_project: Project) -> None:
    django_project.write(SITE)
    django_project.configure(STORAGES=storages(f"{__name__}.FixedHash"))
    run = django_project.collectstatic(verbosity=2)
    root = django_project.root
    assert "corral: Django collects: " in run.stdout
    assert hashed_names(root)["css/app.css"] == "css/app.fixedhash000.css"
    assert (root / "img/bg.fixedhash000.png").read_bytes() == SITE["img/bg.png"]
    assert not state_path(root).exists()
    assert run.stdout.endswith(summary(3, root, post_processed=3))


def test_no_static_root_is_djangos_error(django_project: Project) -> None:
    django_project.write({"a.txt": "a"})
    django_project.configure(STATIC_ROOT=None)
    with pytest.raises(ImproperlyConfigured, match="STATIC_ROOT"):
        django_project.collectstatic()


# --- ignore patterns -----------------------------------------------------------------------


def test_ignore_patterns_are_djangos(django_project: Project) -> None:
    django_project.write(
        {
            "css/app.css": "a",
            "css/_theme.scss": "b",
            "css/.hidden.css": "c",
            "css/app.css~": "d",
            "js/drafts/wip.js": "e",
            "js/app.js": "f",
        }
    )
    django_project.collectstatic("-i", "*.scss", "-i", "js/drafts/*")
    assert set(served_files(django_project.root)) == {"css/app.css", "js/app.js"}
    django_project.collectstatic("--no-default-ignore", "--clear")
    assert set(served_files(django_project.root)) == {
        "css/app.css",
        "css/_theme.scss",
        "css/.hidden.css",
        "css/app.css~",
        "js/drafts/wip.js",
        "js/app.js",
    }


def test_a_manifest_storage_elsewhere_gets_the_new_manifest(
    django_project: Project, tmp_path: Path
) -> None:
    css = django_project.write(SITE) / "css/app.css"
    elsewhere = tmp_path / "manifests"
    elsewhere.mkdir()
    django_project.configure(
        STORAGES=storages(CORRAL_MANIFEST, manifest_storage=FileSystemStorage(str(elsewhere)))
    )
    template = Template("{% load static %}{% static 'css/app.css' %}")
    for version in range(2):
        css.write_text(f"body {{ z-index: {version}; }}\n")
        run = django_project.collectstatic()
        assert run.stdout == summary(
            1 if version else 3,
            django_project.root,
            unmodified=2 if version else 0,
            post_processed=2 if version else 3,  # then: the CSS and JS, as Django counts
        )
        published = (django_project.root / "staticfiles.json").read_bytes()
        assert (elsewhere / "staticfiles.json").read_bytes() == published
        expected = "/static/" + hashed_names(django_project.root)["css/app.css"]
        assert template.render(Context()) == expected  # this process
        reset_caches()
        assert template.render(Context()) == expected  # a new one, reading manifest_storage


def test_a_root_django_collected_into_is_adopted(django_project: Project) -> None:
    django_project.write({"a.txt": "new", "css/x.css": "x { }"})
    django_project.write({"a.txt": "old", "left-over.txt": "keep"}, "static_root")
    run = django_project.collectstatic()
    root = django_project.root
    assert run.stdout == summary(2, root)
    assert (root / "a.txt").read_text() == "new"  # overwritten, as Django would
    assert (root / "left-over.txt").read_text() == "keep"  # not corral's: kept without --clear
    assert django_project.collectstatic().stdout == summary(0, root, unmodified=2)


def test_a_bad_keep_is_a_command_error(django_project: Project) -> None:
    django_project.write({"a.txt": "a"})
    with pytest.raises(CommandError, match="'keep' must be a whole number"):
        django_project.collectstatic("--keep", "-1")
    assert not django_project.root.exists()


def test_manage_py_skips_the_last_collection_but_call_command_does_not(
    django_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(collectstatic, "skip_final_collection", lambda: calls.append("skip"))
    django_project.write(SITE)
    django_project.collectstatic()  # call_command: the process goes on
    assert calls == []
    monkeypatch.setattr(BaseCommand, "run_from_argv", lambda self, argv: calls.append("run"))
    collectstatic.Command().run_from_argv(["manage.py", "collectstatic", "--noinput"])
    assert calls == ["skip", "run"]  # as manage.py runs it: the process ends with it
