"""Docs that check themselves: every command is documented and has help."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from corral.cli import _parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def commands() -> list[str]:
    parser = _parser()
    [sub] = [a for a in parser._actions if a.dest == "command"]
    return sorted(sub.choices)  # type: ignore[arg-type]


def test_every_command_is_in_the_readme_table() -> None:
    assert commands() == ["cache", "check", "clean", "collect", "compress", "find", "webserver"]
    for name in commands():
        assert re.search(rf"^\| `corral {name}[ `]", README, re.M), name


@pytest.mark.parametrize("name", commands())
def test_every_command_has_help(name: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "corral", name, "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert "usage: corral " + name in result.stdout
    assert "--json" in result.stdout


def test_every_long_collect_flag_is_documented() -> None:
    parser = _parser()
    [sub] = [a for a in parser._actions if a.dest == "command"]
    collect = sub.choices["collect"]  # type: ignore[index]
    flags = {o for a in collect._actions for o in a.option_strings if o.startswith("--")}
    flags -= {"--help", "--verbose", "--quiet"}
    missing = sorted(f for f in flags if not re.search(rf"[`/]{f}\b", README))
    assert missing == []


# The first set-up command: a virtual environment, then install with the Django extra,
# collect the example Django site (tests/contrib/django/test_example_site.py runs its
# collectstatic), list the result.
VENV_COMMAND = "python3 -m venv .venv && . .venv/bin/activate"
EXAMPLE_COMMAND = (
    "python -m pip install '.[django]' && cd examples/site"
    " && python manage.py collectstatic --noinput"
    " && find static_root -type f | sort"
)


def test_readme_shows_exactly_two_setup_commands() -> None:
    blocks = re.findall(r"```sh\n(.*?)```", README, re.S)
    assert len(blocks) == 2
    assert blocks[0].strip() == VENV_COMMAND + "\n" + EXAMPLE_COMMAND
    assert blocks[1].strip() == "bash scripts/test.sh"
    assert "bash scripts/test.sh" in (ROOT / ".ci/run").read_text()


def test_every_row_of_the_readme_tables_is_one_line() -> None:
    # A table row split across source lines renders as a broken row and a paragraph.
    lines = README.splitlines()
    for number, line in enumerate(lines[:-1]):
        if line.startswith("|"):
            assert line.rstrip().endswith("|"), f"README.md line {number + 1}: {line[:60]}"


def test_the_example_command_has_what_it_uses() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert [re.split(r"[<>=!~ ]", req)[0].lower() for req in extras["django"]] == ["django"]
    site = ROOT / "examples/site"
    assert (site / "manage.py").is_file()
    settings = (site / "site_project/settings.py").read_text(encoding="utf-8")
    assert re.search(r'^STATIC_ROOT = BASE_DIR / "static_root"$', settings, re.M)
    # `corral collect`, which the README says also works there, collects into the same root.
    corral = tomllib.loads((site / "pyproject.toml").read_text())["tool"]["corral"]
    assert corral["root"] == "static_root"


def test_every_problem_code_is_documented() -> None:
    errors_doc = (ROOT / "docs/errors.md").read_text(encoding="utf-8")
    source = "\n".join(p.read_text() for p in (ROOT / "src/corral").rglob("*.py"))
    codes = set(re.findall(r'Problem\(\s*"([a-z-]+)"', source))
    codes |= set(re.findall(r'_CODE = "([a-z0-9-]+)"', source))
    assert codes, "found no problem codes: the pattern is stale"
    assert sorted(c for c in codes if f"`{c}`" not in errors_doc) == []


def _markdown_files() -> list[Path]:
    tracked = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.md"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [ROOT / name for name in tracked if (ROOT / name).is_file()]


def test_every_relative_link_in_the_docs_resolves_inside_the_repository() -> None:
    broken = []
    for page in _markdown_files():
        text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            path = (page.parent / target.split("#")[0]).resolve()
            if not path.exists() or not path.is_relative_to(ROOT):
                broken.append(f"{page.relative_to(ROOT)}: {target}")
        # A relative path quoted as code is a pointer too: it must resolve inside the repository.
        for target in re.findall(r"`(\.\./[^`\s]+)`", text):
            path = (page.parent / target).resolve()
            if not path.exists() or not path.is_relative_to(ROOT):
                broken.append(f"{page.relative_to(ROOT)}: `{target}`")
    assert broken == []


def test_the_docs_index_lists_every_page_and_the_readme_links_it() -> None:
    index = (ROOT / "docs/index.md").read_text(encoding="utf-8")
    for heading in ("Tutorial", "How-to", "Reference", "Explanation"):
        assert re.search(rf"^## {heading}", index, re.M), heading
    pages = sorted(p.name for p in (ROOT / "docs").glob("*.md") if p.name != "index.md")
    assert [p for p in pages if f"]({p}" not in index] == []
    assert "](docs/index.md)" in README


def test_the_performance_page_is_a_summary() -> None:
    page = (ROOT / "docs/performance.md").read_text(encoding="utf-8")
    assert len(page.splitlines()) <= 200
    assert "](../benchmarks/results/HISTORY.md" in page


def test_runs_are_named_by_date_machine_and_commit_not_by_sitting() -> None:
    """ "session 9" or "s9" says nothing to a reader; a date, a machine and a commit do."""
    results = ROOT / "benchmarks/results"
    assert [p.name for p in results.iterdir() if re.search(r"(^|-)s\d+(-|\.)", p.name)] == []
    pages = [*_markdown_files(), *ROOT.glob("benchmarks/*.py")]
    named = [
        f"{page.relative_to(ROOT)}: {match.group(0)}"
        for page in pages
        for match in re.finditer(
            r"\b[Ss]ession \d+|\*s\d+\*|\bs\d+'s\b|--block s\d+\b|bench:s\d+:",
            page.read_text(encoding="utf-8"),
        )
    ]
    assert named == []
