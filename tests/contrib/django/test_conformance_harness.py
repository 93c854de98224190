# ruff: noqa: E501 - captured runtests.py output keeps its long lines
"""The Django conformance harness's own logic (scripts/django_conformance.py).

The harness runs Django's staticfiles_tests in a child interpreter; CI calls it separately.
Here: its output parser on captured real output, its reconciliation with
docs/django-compat.md, and its sdist cache and extraction on small real archives.
"""

from __future__ import annotations

import importlib.util
import io
import sys
import tarfile
import unittest
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "django_conformance.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("django_conformance", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


harness = _load()

STORAGE = "staticfiles_tests.test_storage"
MANIFEST = f"{STORAGE}.TestCollectionManifestStorage"
PERMISSIONS = f"{STORAGE}.TestStaticFilePermissions"

# Captured from `python scripts/django_conformance.py --log FILE` (Django 5.2.19, Python 3.11,
# corral's classes swapped in while they were being written): the preamble, a selection of
# test lines (plain, with a docstring line, FAIL, ERROR, failing subtests; the parent line of
# subtests really ends in "... "), the start of the error report and the closing lines.
CAPTURED = """\
corral-conformance: corral.contrib.django.storage.StaticFilesStorage, corral.contrib.django.storage.ManifestStaticFilesStorage, corral.contrib.django.management.commands.collectstatic.Command swapped in
Testing against Django installed in '/work/venv/lib/python3.11/site-packages/django'
Importing application staticfiles_tests
Found 190 test(s).
Skipping setup of unused database(s): other.
Creating test database for alias 'default' ('file:memorydb_default?mode=memory&cache=shared')...
Operations to perform:
  Synchronize unmigrated apps: auth, contenttypes, messages, sessions, staticfiles, staticfiles_tests
  Apply all migrations: admin, sites
Synchronizing apps without migrations:
  Creating tables...
    Creating table django_content_type
    Running deferred SQL...
Running migrations:
  Applying admin.0001_initial... OK
  Applying sites.0002_alter_domain_unique... OK
System check identified no issues (0 silenced).
test_base_finder_check_not_implemented (staticfiles_tests.test_checks.FindersCheckTests.test_base_finder_check_not_implemented) ... ok
test_check_finders (staticfiles_tests.test_checks.FindersCheckTests.test_check_finders)
check_finders() concatenates all errors. ... ok
test_css_source_map_tabs (staticfiles_tests.test_storage.TestCollectionManifestStorage.test_css_source_map_tabs) ... ok
test_import_loop (staticfiles_tests.test_storage.TestCollectionManifestStorage.test_import_loop) ... FAIL
test_import_replacement (staticfiles_tests.test_storage.TestCollectionManifestStorage.test_import_replacement)
See #18050 ... ok
test_post_processing (staticfiles_tests.test_storage.TestCollectionManifestStorage.test_post_processing)
post_processing behaves correctly. ... ok
test_post_processing_failure (staticfiles_tests.test_storage.TestCollectionManifestStorage.test_post_processing_failure)
post_processing indicates the origin of the error when it fails. ... FAIL
test_post_processing_nonutf8 (staticfiles_tests.test_storage.TestCollectionManifestStorage.test_post_processing_nonutf8) ... ERROR
test_template_tag_absolute (staticfiles_tests.test_storage.TestCollectionManifestStorage.test_template_tag_absolute) ... ok
test_collect_static_files_default_permissions (staticfiles_tests.test_storage.TestStaticFilePermissions.test_collect_static_files_default_permissions) ... ok
test_collect_static_files_permissions (staticfiles_tests.test_storage.TestStaticFilePermissions.test_collect_static_files_permissions) ... FAIL
test_collect_static_files_subclass_of_static_storage (staticfiles_tests.test_storage.TestStaticFilePermissions.test_collect_static_files_subclass_of_static_storage) ...\x20
  test_collect_static_files_subclass_of_static_storage (staticfiles_tests.test_storage.TestStaticFilePermissions.test_collect_static_files_subclass_of_static_storage) (directory=PosixPath('/tmp/django_ucm52ivn/tmp9a67d6ie/subdir')) ... FAIL
  test_collect_static_files_subclass_of_static_storage (staticfiles_tests.test_storage.TestStaticFilePermissions.test_collect_static_files_subclass_of_static_storage) (directory=PosixPath('/tmp/django_ucm52ivn/tmp9a67d6ie/nested')) ... FAIL
test_template_tag (staticfiles_tests.test_templatetags.TestTemplateTag.test_template_tag) ... ok
test_staticfiles_dirs_subdir (staticfiles_tests.test_views.TestServeStaticWithURLHelper.test_staticfiles_dirs_subdir)
Can find a file in a subdirectory of a STATICFILES_DIRS ... ok

======================================================================
ERROR: test_post_processing_nonutf8 (staticfiles_tests.test_storage.TestCollectionManifestStorage.test_post_processing_nonutf8)
----------------------------------------------------------------------
Traceback (most recent call last):
  File "/work/venv/lib/python3.11/site-packages/django/test/utils.py", line 456, in inner
    return func(*args, **kwargs)
           ^^^^^^^^^^^^^^^^^^^^^
======================================================================
FAIL: test_collect_static_files_permissions (staticfiles_tests.test_storage.TestStaticFilePermissions.test_collect_static_files_permissions)
----------------------------------------------------------------------
    self.assertEqual(dir_mode, 0o740)
AssertionError: 488 != 480

----------------------------------------------------------------------
Ran 190 tests in 10.615s

FAILED (failures=6, errors=1)
Destroying test database for alias 'default' ('file:memorydb_default?mode=memory&cache=shared')...
"""

CAPTURED_OUTCOMES = {
    "staticfiles_tests.test_checks.FindersCheckTests.test_base_finder_check_not_implemented": "ok",
    "staticfiles_tests.test_checks.FindersCheckTests.test_check_finders": "ok",
    f"{MANIFEST}.test_css_source_map_tabs": "ok",
    f"{MANIFEST}.test_import_loop": "FAIL",
    f"{MANIFEST}.test_import_replacement": "ok",
    f"{MANIFEST}.test_post_processing": "ok",
    f"{MANIFEST}.test_post_processing_failure": "FAIL",
    f"{MANIFEST}.test_post_processing_nonutf8": "ERROR",
    f"{MANIFEST}.test_template_tag_absolute": "ok",
    f"{PERMISSIONS}.test_collect_static_files_default_permissions": "ok",
    f"{PERMISSIONS}.test_collect_static_files_permissions": "FAIL",
    f"{PERMISSIONS}.test_collect_static_files_subclass_of_static_storage": "FAIL",
    "staticfiles_tests.test_templatetags.TestTemplateTag.test_template_tag": "ok",
    "staticfiles_tests.test_views.TestServeStaticWithURLHelper.test_staticfiles_dirs_subdir": "ok",
}


def parse(text: str) -> Any:
    return harness.parse_output(text.splitlines(keepends=True))


def test_parses_captured_runtests_output() -> None:
    results = parse(CAPTURED)
    assert results.outcomes == CAPTURED_OUTCOMES
    assert list(results.outcomes) == list(CAPTURED_OUTCOMES)  # in the order run
    assert results.ran == 190
    assert len(results.passed) == 9
    assert results.failed == [
        f"{MANIFEST}.test_import_loop",
        f"{MANIFEST}.test_post_processing_failure",
        f"{MANIFEST}.test_post_processing_nonutf8",
        f"{PERMISSIONS}.test_collect_static_files_permissions",
        f"{PERMISSIONS}.test_collect_static_files_subclass_of_static_storage",
    ]
    assert results.skipped == []


def test_parses_pre_311_ids_and_a_stripped_trailing_space() -> None:
    # Python < 3.11 prints "name (module.Class)"; an editor may strip "... " to "...".
    results = parse(
        "test_a (staticfiles_tests.test_x.C) ... ok\n"
        "test_b (staticfiles_tests.test_x.C) ...\n"
        "  test_b (staticfiles_tests.test_x.C) (i=1) ... ERROR\n"
        "test_c (staticfiles_tests.test_x.C) ... ok\n"
    )
    assert results.outcomes == {
        "staticfiles_tests.test_x.C.test_a": "ok",
        "staticfiles_tests.test_x.C.test_b": "ERROR",
        "staticfiles_tests.test_x.C.test_c": "ok",
    }


def _unittest_output() -> tuple[str, str]:
    """Real verbose output of unittest's text runner for the outcomes Django's run rarely has.

    The classes are local so pytest does not collect them; their ``__qualname__`` is what a
    module-level class would have.
    """

    class Outcomes(unittest.TestCase):
        def test_ok(self) -> None:
            pass

        def test_docstring(self) -> None:
            """First line of the docstring.

            Second line.
            """

        def test_noisy(self) -> None:
            # Output a test writes itself lands between its name and its status.
            sys.stderr.write("some noise from the test\n")

        @unittest.skip("needs 'selenium'")
        def test_skipped(self) -> None:
            pass

        @unittest.expectedFailure
        def test_expected_failure(self) -> None:
            self.fail("known")

        @unittest.expectedFailure
        def test_unexpected_success(self) -> None:
            pass

        def test_fails(self) -> None:
            self.assertEqual(1, 2)

        def test_errors(self) -> None:
            raise RuntimeError("boom")

        def test_subtests(self) -> None:
            for i in range(3):
                with self.subTest(i=i):
                    self.assertNotEqual(i, 1)

    class BrokenFixture(unittest.TestCase):
        @classmethod
        def setUpClass(cls) -> None:
            raise RuntimeError("no database")

        def test_never_runs(self) -> None:
            pass

    for cls in (Outcomes, BrokenFixture):
        cls.__qualname__ = cls.__name__
    stream = io.StringIO()
    suite = unittest.TestSuite()
    loader = unittest.TestLoader()
    suite.addTests(loader.loadTestsFromTestCase(Outcomes))
    suite.addTests(loader.loadTestsFromTestCase(BrokenFixture))
    old_stderr = sys.stderr
    sys.stderr = stream  # runtests.py's stream is stderr too: noise interleaves
    try:
        unittest.TextTestRunner(stream=stream, verbosity=2).run(suite)
    finally:
        sys.stderr = old_stderr
    return stream.getvalue(), f"{Outcomes.__module__}."


def test_parses_every_unittest_outcome() -> None:
    text, module = _unittest_output()
    results = parse(text)
    assert results.outcomes == {
        f"{module}Outcomes.test_docstring": "ok",
        f"{module}Outcomes.test_errors": "ERROR",
        f"{module}Outcomes.test_expected_failure": "expected failure",
        f"{module}Outcomes.test_fails": "FAIL",
        f"{module}Outcomes.test_noisy": "ok",
        f"{module}Outcomes.test_ok": "ok",
        f"{module}Outcomes.test_skipped": "skipped",
        f"{module}Outcomes.test_subtests": "FAIL",
        f"{module}Outcomes.test_unexpected_success": "unexpected success",
        # Python 3.11 prints this one as a bare "ERROR" line (the "unexpected success" before
        # it leaves no fresh line for a name): the error report names it.
        f"{module}BrokenFixture.setUpClass": "ERROR",
    }, text
    assert results.skip_reasons == {f"{module}Outcomes.test_skipped": "needs 'selenium'"}
    # A failing setUpClass runs none of its class's tests; Python 3.12.1's runner also
    # leaves the skipped one out of "Ran N tests" (3.12.2 counts it again).
    assert results.ran == (8 if sys.version_info[:3] == (3, 12, 1) else 9)
    assert sorted(results.failed) == sorted(
        f"{module}{name}"
        for name in (
            "Outcomes.test_errors",
            "Outcomes.test_fails",
            "Outcomes.test_subtests",
            "Outcomes.test_unexpected_success",
            "BrokenFixture.setUpClass",
        )
    )
    assert len(results.passed) == 4  # expected failures pass
    harness._check_complete(results, 1, text.splitlines(keepends=True))  # consistent


def test_incomplete_or_inconsistent_runs_are_harness_errors() -> None:
    lines = CAPTURED.splitlines(keepends=True)
    with pytest.raises(harness.HarnessError, match="ran 190 tests but 14 results"):
        harness._check_complete(parse(CAPTURED), 1, lines)
    crashed = lines[:20]  # e.g. corral's module failed to import: no "Ran N tests"
    with pytest.raises(harness.HarnessError, match="without running the suite"):
        harness._check_complete(parse("".join(crashed)), 1, crashed)
    passing = "test_a (staticfiles_tests.t.C.test_a) ... ok\nRan 1 test in 0.1s\n"
    harness._check_complete(parse(passing), 0, [passing])
    with pytest.raises(harness.HarnessError, match="exited 1 but no test failed"):
        harness._check_complete(parse(passing), 1, [passing])


# ------------------------------------------------------------------------ reconciliation

DOC = """\
| Test | Why corral differs |
|------|--------------------|
| `staticfiles_tests.test_storage.TestCollectionManifestStorage.test_import_loop` | corral hashes reference cycles together instead of failing |
| `staticfiles_tests.test_storage.TestCollectionManifestStorage.test_post_processing_failure`, `staticfiles_tests.test_storage.TestCollectionManifestStorage.test_post_processing_nonutf8` | corral reports every problem at once |
"""


def test_parses_the_table_of_differences() -> None:
    listed = harness.parse_compat_doc(DOC)
    assert listed == {
        f"{MANIFEST}.test_import_loop": "corral hashes reference cycles together instead of failing",
        f"{MANIFEST}.test_post_processing_failure": "corral reports every problem at once",
        f"{MANIFEST}.test_post_processing_nonutf8": "corral reports every problem at once",
    }


def test_the_real_doc_is_a_table_the_harness_reads() -> None:
    text = (ROOT / "docs" / "django-compat.md").read_text(encoding="utf-8")
    assert "| Test | Why corral differs |" in text
    assert "python scripts/django_conformance.py" in text
    listed = harness.parse_compat_doc(text)
    assert all(test.startswith("staticfiles_tests.") for test in listed), listed
    assert all(reason for reason in listed.values()), "every listed test needs a reason"


def run_report(
    listed: dict[str, str], *, stock: bool = False, labels: tuple[str, ...] = ("staticfiles_tests",)
) -> tuple[int, str]:
    out: list[str] = []
    code = harness.report(
        parse(CAPTURED), listed, version="5.2.19", stock=stock, labels=labels, out=out
    )
    return code, "\n".join(out)


def test_unlisted_failures_fail_the_run() -> None:
    code, text = run_report(harness.parse_compat_doc(DOC))
    assert code == 1
    assert "unexpected failures (2) - not listed in docs/django-compat.md:" in text
    unexpected = text.split("unexpected failures")[1]
    assert f"{PERMISSIONS}.test_collect_static_files_permissions" in unexpected
    assert f"{PERMISSIONS}.test_collect_static_files_subclass_of_static_storage" in unexpected
    assert f"{MANIFEST}.test_import_loop" not in unexpected
    assert f"  {MANIFEST}.test_import_loop  FAIL  (listed)" in text
    assert text.splitlines()[-2] == "9 passed, 5 failed, 0 skipped (Django 5.2.19 with corral)"
    assert text.splitlines()[-1] == "DOES NOT CONFORM"


def test_every_failure_listed_conforms() -> None:
    results = parse(CAPTURED)
    listed = dict.fromkeys(results.failed, "a reason")
    code, text = run_report(listed)
    assert code == 0
    assert "unexpected" not in text and "listed but" not in text
    assert text.splitlines()[-1] == "conforms"


def test_listed_but_passing_is_reported_and_fails_the_run() -> None:
    results = parse(CAPTURED)
    listed = dict.fromkeys(results.failed, "a reason")
    listed[f"{MANIFEST}.test_post_processing"] = "no longer differs"
    code, text = run_report(listed)
    assert code == 1
    assert "listed but passing (1) - remove from docs/django-compat.md:" in text
    assert f"  {MANIFEST}.test_post_processing\n" in text + "\n"
    verdict = harness.reconcile(results, listed)
    assert verdict.listed_passing == [f"{MANIFEST}.test_post_processing"]
    assert verdict.unexpected == []


def test_listed_but_not_run_is_a_stale_id_unless_outside_the_labels() -> None:
    results = parse(CAPTURED)
    listed = dict.fromkeys(results.failed, "a reason")
    listed[f"{MANIFEST}.test_renamed_upstream"] = "gone"
    code, text = run_report(listed)
    assert code == 1
    assert "listed but not run (1)" in text
    # Narrowed to other labels, a listed test outside them is not checked.
    verdict = harness.reconcile(results, listed, ["staticfiles_tests.test_views"])
    assert verdict.listed_not_run == []
    assert verdict.listed_passing == []


def test_stock_mode_ignores_the_doc_and_fails_on_any_failure() -> None:
    listed = harness.parse_compat_doc(DOC)
    code, text = run_report(listed, stock=True)
    assert code == 1
    assert "unexpected failures (5) - stock Django must pass:" in text
    assert "(listed)" not in text and "listed but" not in text
    assert "(Django 5.2.19 stock)" in text


def test_json_results() -> None:
    results = parse(CAPTURED)
    listed = harness.parse_compat_doc(DOC)
    verdict = harness.reconcile(results, listed)
    data = harness.results_json(
        results, verdict, version="5.2.19", stock=False, labels=["staticfiles_tests"], seconds=14.2
    )
    assert data["counts"] == {"passed": 9, "failed": 5, "skipped": 0, "total": 14}
    assert data["tests"] == CAPTURED_OUTCOMES
    assert data["django_version"] == "5.2.19"
    assert data["conforms"] is False
    assert len(data["unexpected_failures"]) == 2  # type: ignore[arg-type]


# ------------------------------------------------------------------- sdist cache, extraction


@pytest.fixture
def sdist(tmp_path: Path) -> Path:
    """A small real sdist-shaped archive: Django's package and its tests directory."""
    tree = tmp_path / "tree" / "django-9.9"
    for relpath, content in {
        "django/__init__.py": "",
        "tests/runtests.py": "print('runtests')\n",
        "tests/sitecustomize.py": "import coverage\n",
        "tests/staticfiles_tests/__init__.py": "",
    }.items():
        (tree / relpath).parent.mkdir(parents=True, exist_ok=True)
        (tree / relpath).write_text(content, encoding="utf-8")
    archive = tmp_path / "cache" / "Django-9.9.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tree, arcname="django-9.9")
    return archive


def test_a_cached_sdist_is_reused_without_pip(sdist: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(harness.CACHE_ENV, str(sdist.parent))
    assert harness.cache_dir() == sdist.parent
    assert harness.fetch_sdist("9.9", harness.cache_dir()) == sdist  # Django-/django- alike
    monkeypatch.delenv(harness.CACHE_ENV)
    assert harness.cache_dir() == Path.home() / ".cache" / "corral" / "django-sdist"


def test_extracts_only_tests_and_hooks_the_swap(sdist: Path, tmp_path: Path) -> None:
    tests = harness.extract_tests(sdist, tmp_path / "out")
    assert tests == tmp_path / "out" / "django-9.9" / "tests"
    assert not (tmp_path / "out" / "django-9.9" / "django").exists()  # the installed one runs
    harness.install_swap(tests)
    swap = (tests / f"{harness.SWAP_MODULE}.py").read_text(encoding="utf-8")
    assert (
        "_storage.ManifestStaticFilesStorage = _corral_storage.ManifestStaticFilesStorage" in swap
    )
    assert "_collectstatic.Command = _corral_collectstatic.Command" in swap
    site = (tests / "sitecustomize.py").read_text(encoding="utf-8")
    assert site.startswith("import coverage\n")  # Django's own hook is kept
    assert f"import {harness.SWAP_MODULE}" in site
    compile(site, "sitecustomize.py", "exec")
    compile(harness.BOOTSTRAP, "<bootstrap>", "exec")


def test_an_archive_without_tests_is_a_harness_error(tmp_path: Path) -> None:
    archive = tmp_path / "django-9.9.tar.gz"
    (tmp_path / "django-9.9").mkdir()
    (tmp_path / "django-9.9" / "setup.py").write_text("", encoding="utf-8")
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "django-9.9", arcname="django-9.9")
    with pytest.raises(harness.HarnessError, match="no tests/ directory"):
        harness.extract_tests(archive, tmp_path / "out")
