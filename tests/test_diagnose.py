"""``check``: every problem the next collect would refuse, found without writing anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral import BuildError, collect
from corral.diagnose import check

from .conftest import config_for, snapshot, write_tree


def _site(project: Path) -> Path:
    write_tree(
        project / "assets",
        {
            "css/app.css": "body { background: url(../img/gone.png); }\n",
            "css/more.css": '@import "nowhere.css";\n',
            "js/app.js": "console.log(1);\n//# sourceMappingURL=app.js.map\n",
        },
    )
    return project


def test_check_reports_the_missing_references_collect_refuses(project: Path) -> None:
    config = config_for(_site(project), "assets", hash=True)
    report = check(config)
    assert not (project / "static_root").exists()  # a dry run: not even the state directory
    with pytest.raises(BuildError) as refused:
        collect(config)
    assert report.problems == list(refused.value.problems)  # all of them, in collect's words
    assert sorted(p.reference for p in report.problems) == ["../img/gone.png", "nowhere.css"]
    assert all(p.code == "missing-reference" for p in report.problems)
    assert not report.ok
    # What collect would only warn about is a warning (a missing source map, by default).
    accepting = config_for(project, "assets", hash=True, accept_missing=("*.png", "*.css"))
    report = check(accepting)
    assert report.ok
    assert [w.reference for w in report.warnings] == ["app.js.map"]
    assert report.warnings == collect(accepting, dry_run=True).warnings


def test_check_on_a_collected_root_writes_nothing(project: Path) -> None:
    config = config_for(_site(project), "assets", hash=True, accept_missing=("*",))
    collect(config)
    root = project / "static_root"
    before = snapshot(root)  # corral's own state included
    assert check(config).ok
    (project / "assets/css/app.css").write_text("body { background: url(../img/x.png); }\n")
    strict = config_for(project, "assets", hash=True)
    problems = check(strict).problems
    assert [p.reference for p in problems] == ["../img/x.png", "nowhere.css"]
    assert snapshot(root) == before


def test_a_scan_problem_is_reported_once(project: Path) -> None:
    write_tree(project / "assets", {"a.css": "a"})
    (project / "assets/dangling.css").symlink_to(project / "nowhere.css")
    report = check(config_for(project, "assets", hash=True))
    assert [p.code for p in report.problems] == ["broken-symlink"]
