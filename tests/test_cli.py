"""The command line: exit codes, messages, --json, --dry-run, colour."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from corral import progress
from corral.cli import main

from .conftest import served_files, write_tree


def corral(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "corral", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def site(project: Path) -> Path:
    (project / "pyproject.toml").write_text(
        '[tool.corral]\nroot = "static_root"\nsources = ["assets", "vendor"]\n'
        "hash = false\ncompress = false\n"
    )
    return project


def test_collect_then_up_to_date(site: Path) -> None:
    first = corral("collect", cwd=site)
    assert first.returncode == 0, first.stderr
    assert "3 new, 0 changed, 0 unchanged, 0 removed -> release 1" in first.stdout
    assert "time " in first.stdout and "stage" in first.stdout
    assert "conflict: 'css/app.css' comes from" in first.stderr
    again = corral("collect", "-q", cwd=site)
    assert again.returncode == 0 and again.stdout == "" and again.stderr == ""
    assert set(served_files(site / "static_root")) == {"css/app.css", "js/app.js", "lib/lib.js"}


def test_json_report_is_machine_readable(site: Path) -> None:
    result = corral("collect", "--json", cwd=site)
    data = json.loads(result.stdout)
    assert data["counts"]["new"] == 3 and data["release"] == 1 and data["published"]
    assert data["conflicts"] == [
        {
            "logical_path": "css/app.css",
            "winner": str(site / "assets/css/app.css"),
            "shadowed": [str(site / "vendor/css/app.css")],
        }
    ]
    assert set(data["timings"]) >= {"scan", "stage", "publish"}
    assert set(data["cpu_timings"]) == set(data["timings"])  # CPU seconds per phase too
    assert all(seconds >= 0 for seconds in data["cpu_timings"].values())


def test_dry_run_prints_the_plan_with_paths_at_v(site: Path) -> None:
    corral("collect", cwd=site)
    (site / "assets/js/app.js").write_text("changed\n")
    write_tree(site / "assets", {"img/new.svg": "<svg/>"})
    result = corral("collect", "--dry-run", "-v", cwd=site)
    assert result.returncode == 0
    assert "Dry run, nothing written." in result.stdout
    assert "1 new, 1 changed, 2 unchanged, 0 removed, 0 to prune" in result.stdout
    assert "  new      img/new.svg" in result.stdout
    assert "  changed  js/app.js" in result.stdout
    assert not (site / "static_root/img").exists()


def test_flags_override_the_configuration(tmp_path: Path) -> None:
    write_tree(tmp_path / "a", {"x.css": "x", "skip/y.css": "y"})
    result = corral(
        "collect",
        "--root",
        "out",
        "--source",
        "pre=a",
        "--ignore",
        "skip",
        "--no-hash",
        "--no-compress",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert served_files(tmp_path / "out") == {"pre/x.css": b"x"}


def test_find_shows_winner_and_shadowed(site: Path) -> None:
    result = corral("find", "/static/css/app.css", cwd=site)
    assert result.returncode == 0
    assert f"from    {site / 'assets/css/app.css'}" in result.stdout
    assert f"shadows {site / 'vendor/css/app.css'}" in result.stdout
    missing = corral("find", "nope.css", cwd=site)
    assert missing.returncode == 1 and "'nope.css' is in no source" in missing.stderr


def test_find_respects_ignore_rules(site: Path) -> None:
    write_tree(site / "assets", {"js/vendor/x.js": "x"})
    assert corral("find", "js/vendor/x.js", cwd=site).returncode == 0
    assert corral("find", "js/vendor/x.js", "--ignore", "js/vendor", cwd=site).returncode == 1


def test_clean_prunes_old_release_files(site: Path) -> None:
    corral("collect", cwd=site)
    (site / "vendor/lib/lib.js").unlink()
    corral("collect", "--keep", "5", cwd=site)
    assert (site / "static_root/lib/lib.js").exists()
    dry = corral("clean", "--keep", "0", "--dry-run", "-v", cwd=site)
    assert "Would delete 1 file(s)" in dry.stdout and "lib/lib.js" in dry.stdout
    assert (site / "static_root/lib/lib.js").exists()
    done = corral("clean", "--keep", "0", cwd=site)
    assert done.returncode == 0 and "Deleted 1 file(s)" in done.stdout
    assert not (site / "static_root/lib/lib.js").exists()


def test_check_reports_hand_placed_and_modified_files(site: Path) -> None:
    corral("collect", cwd=site)
    assert corral("check", cwd=site).returncode == 0
    write_tree(site / "static_root", {"css/by-hand.css": "x"})
    (site / "static_root/js/app.js").write_text("edited in place")
    result = corral("check", cwd=site)
    assert result.returncode == 1
    assert "by-hand.css: this file was not written by corral" in result.stderr
    assert "app.js: this file was changed or deleted after corral wrote it" in result.stderr


def test_check_reports_a_root_tracked_by_git(site: Path) -> None:
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], cwd=site, check=True)
    corral("collect", cwd=site)
    subprocess.run([*git, "add", "static_root/css"], cwd=site, check=True)
    result = corral("check", cwd=site)
    assert result.returncode == 1
    assert "1 file(s) in the target" in result.stderr and "tracked by git" in result.stderr
    assert "git rm -r --cached" in result.stderr
    subprocess.run([*git, "rm", "-rq", "--cached", "static_root"], cwd=site, check=True)
    (site / ".gitignore").write_text("/static_root/\n")
    assert corral("check", cwd=site).returncode == 0


def test_errors_exit_1_with_what_where_and_hint(site: Path) -> None:
    (site / "assets/dangling.css").symlink_to(site / "nowhere.css")
    result = corral("collect", cwd=site)
    assert result.returncode == 1
    assert "ERROR: 1 problem found; nothing was published" in result.stderr
    assert f"{site / 'assets/dangling.css'}: broken symbolic link" in result.stderr
    assert "hint: fix or remove the link, or add an ignore pattern" in result.stderr
    assert not (site / "static_root").exists()


def test_configuration_errors_exit_2(site: Path) -> None:
    (site / "pyproject.toml").write_text('[tool.corral]\nroot = "r"\nsorces = ["assets"]\n')
    result = corral("collect", cwd=site)
    assert result.returncode == 2
    assert "unknown configuration key 'sorces'" in result.stderr
    assert "did you mean 'sources'?" in result.stderr


def test_usage_errors_exit_2(site: Path) -> None:
    assert corral("collect", "--keep", "-1", cwd=site).returncode == 2
    assert corral("nonsense", cwd=site).returncode == 2


def test_no_color_is_respected(
    site: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(site)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert main(["find", "missing.css"]) == 1
    assert "\033[" in capsys.readouterr().err
    monkeypatch.setenv("NO_COLOR", "1")
    assert main(["find", "missing.css"]) == 1
    assert "\033[" not in capsys.readouterr().err


def test_json_errors_are_json_too(site: Path) -> None:
    (site / "assets/dangling.css").symlink_to(site / "nowhere.css")
    data = json.loads(corral("collect", "--json", cwd=site).stdout)
    assert data["error"] == "BuildError"
    assert data["problems"][0]["code"] == "broken-symlink"
    assert data["problems"][0]["path"] == str(site / "assets/dangling.css")


def test_progress_bar_draws_only_on_a_terminal(
    site: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(site)
    write_tree(site / "assets", {f"many/{n}.txt": str(n) for n in range(450)})
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.setattr(progress.time, "monotonic", iter(range(0, 10**6, 1)).__next__)
    assert main(["collect"]) == 0
    err = capsys.readouterr().err
    assert "stage    [" in err and "453/453" in err


def test_package_flag_collects_an_installed_packages_static_dir(tmp_path: Path) -> None:
    write_tree(tmp_path / "site/shopkit", {"__init__.py": "", "static/shopkit/cart.css": ".c{}"})
    result = corral(
        "collect",
        "--root",
        "out",
        "--package",
        "shopkit",
        "--no-hash",
        "--no-compress",
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path / "site")},
    )
    assert result.returncode == 0, result.stderr
    assert served_files(tmp_path / "out") == {"shopkit/cart.css": b".c{}"}


def test_cache_dir_flag_no_cache_and_the_cache_commands(project: Path, tmp_path: Path) -> None:
    (project / "pyproject.toml").write_text(
        '[tool.corral]\nroot = "static_root"\nsources = ["assets"]\nhash = false\n'
    )
    (project / "assets/css/big.css").write_text(
        "".join(f".r{n} {{ x: {n} }}\n" for n in range(500))
    )
    cache = tmp_path / "flag-cache"
    first = corral("collect", "--cache-dir", str(cache), "--json", cwd=project)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["counts"]["compressed"] > 0
    info = corral("cache", "info", "--cache-dir", str(cache), "--json", cwd=project)
    assert info.returncode == 0, info.stderr
    data = json.loads(info.stdout)
    assert data["contents"] == 1 and data["files"] == 3 and data["bytes"] > 0
    assert data["linked_bytes"] == data["bytes"]  # the root's variants are links to them
    text = corral("cache", "info", cwd=project, env={"CORRAL_CACHE_DIR": str(cache)})
    assert text.stdout.startswith(f"{cache}: 1 content(s), 3 file(s)")
    assert "also linked from targets" in text.stdout
    uncached = corral("collect", "--no-cache", "--root", "other", "--json", cwd=project)
    computed = json.loads(first.stdout)["counts"]["compressed"]
    assert json.loads(uncached.stdout)["counts"]["compressed"] == computed
    dry = corral("cache", "prune", "--max-size", "0", "-n", "--cache-dir", str(cache), cwd=project)
    assert dry.returncode == 0 and dry.stdout.startswith("Would remove 1 content(s), 3 file(s)")
    pruned = corral("cache", "prune", "--older-than", "0s", "--cache-dir", str(cache), cwd=project)
    assert pruned.stdout.startswith("Removed 1 content(s)")
    after = corral("cache", "info", "--cache-dir", str(cache), "--json", cwd=project)
    assert json.loads(after.stdout)["contents"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [(["cache", "prune"], "needs --max-size SIZE, --older-than AGE or both"),
     (["cache", "prune", "--max-size", "huge"], "'--max-size' must be a size"),
     (["cache", "prune", "--older-than", "later"], "'--older-than' must be an age")],
)  # fmt: skip
def test_cache_prune_usage_errors(project: Path, args: list[str], message: str) -> None:
    result = corral(*args, cwd=project)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_find_names_the_pattern_that_ignores_a_file(site: Path) -> None:
    write_tree(site / "assets", {"css/_theme.scss": "$c: red;", "js/vendor/x.js": "x"})
    (site / "pyproject.toml").write_text(
        '[tool.corral]\nroot = "static_root"\nsources = ["assets", "vendor"]\n'
        'ignore = ["*.scss", "js/vendor"]\nhash = false\ncompress = false\n'
    )
    result = corral("find", "css/_theme.scss", cwd=site)
    assert result.returncode == 1
    assert (
        f"ignored: 'css/_theme.scss' is {site / 'assets/css/_theme.scss'} ({site / 'assets'}), "
        f"excluded by the ignore pattern '*.scss' from 'ignore' ({site / 'pyproject.toml'})"
    ) in result.stderr
    # A directory pattern, and Django's defaults.
    assert "pattern 'js/vendor'" in corral("find", "js/vendor/x.js", cwd=site).stderr
    write_tree(site / "assets", {"css/.hidden.css": "h"})
    hidden = corral("find", "css/.hidden.css", "--json", cwd=site)
    assert hidden.returncode == 1
    [ignored] = json.loads(hidden.stdout)["ignored"]
    assert ignored["pattern"] == ".*"
    assert ignored["pattern_from"].startswith("Django's default ignore patterns")
    assert "is in no source" in corral("find", "css/nothing.css", cwd=site).stderr


def test_find_maps_a_hashed_name_back_to_its_file(site: Path) -> None:
    (site / "pyproject.toml").write_text(
        '[tool.corral]\nroot = "static_root"\nsources = ["assets", "vendor"]\ncompress = false\n'
    )
    assert corral("collect", "-q", cwd=site).returncode == 0
    manifest = json.loads((site / "static_root/staticfiles.json").read_text())["paths"]
    hashed = manifest["css/app.css"]
    for asked in (hashed, f"/static/{hashed}"):
        result = corral("find", asked, cwd=site)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"{hashed} is a hashed name of:\ncss/app.css\n")
        assert f"from    {site / 'assets/css/app.css'}" in result.stdout
        assert f"hashed  {hashed}" in result.stdout
    data = json.loads(corral("find", hashed, "--json", cwd=site).stdout)
    assert (data["logical_path"], data["hashed_from"]) == ("css/app.css", hashed)
    # An old release's hashed name maps back too, while the release is kept.
    (site / "assets/css/app.css").write_text("body { color: blue; }\n")
    assert corral("collect", "-q", cwd=site).returncode == 0
    assert "is a hashed name of:\ncss/app.css" in corral("find", hashed, cwd=site).stdout
    assert corral("find", "css/app.000000000000.css", cwd=site).returncode == 1


def test_check_reports_what_the_next_collect_refuses(site: Path) -> None:
    (site / "pyproject.toml").write_text(
        '[tool.corral]\nroot = "static_root"\nsources = ["assets", "vendor"]\ncompress = false\n'
    )
    write_tree(site / "assets", {"css/theme.css": ".x { background: url(../img/nope.png) }\n"})
    checked = corral("check", cwd=site)
    assert checked.returncode == 1
    assert not (site / "static_root").exists()
    refused = corral("collect", cwd=site)
    assert refused.returncode == 1
    [line] = [x for x in refused.stderr.splitlines() if x.strip().startswith("problem:")]
    assert "img/nope.png" in line
    assert line.strip() in checked.stderr  # collect's own words
    assert "1 problem(s) found." in checked.stdout


@pytest.mark.parametrize(
    "extra",
    [
        "compress = { brotli_levl = 11 }\n",
        '[tool.corral.missing]\nurll = "warn"\n',
        "passthrough = ['(']\n",
    ],
)
def test_a_mistake_in_a_nested_table_creates_nothing(site: Path, extra: str) -> None:
    (site / "pyproject.toml").write_text(
        f'[tool.corral]\nroot = "static_root"\nsources = ["assets"]\n{extra}'
    )
    result = corral("collect", cwd=site)
    assert result.returncode == 2, result.stderr
    assert f"  in: {site / 'pyproject.toml'}:" in result.stderr
    assert not (site / "static_root").exists()


def test_missing_sources_are_a_configuration_mistake(site: Path) -> None:
    result = corral("collect", "--source", "nope", cwd=site)
    assert result.returncode == 2
    assert "source directory" in result.stderr and "does not exist" in result.stderr
    assert "in the command line (--source/--package)" in result.stderr
    assert "pyproject.toml" not in result.stderr
    assert corral("collect", "--package", "no_such_package_here", cwd=site).returncode == 2
    # With another problem besides, it is a failed run (exit 1), as before.
    (site / "assets/dangling.css").symlink_to(site / "nowhere.css")
    assert corral("collect", "--source", "nope", "--source", "assets", cwd=site).returncode == 1
    assert not (site / "static_root").exists()
