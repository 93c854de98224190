"""The benchmark must not rot: build the offline smoke corpus and run every scenario once.

Needs no network and no Django (Django and WhiteNoise tools are skipped with a note when
the interpreter lacks them). Run with ``pytest benchmarks/test_smoke.py``.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402
import run  # noqa: E402


def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_smoke_corpus_is_generated_offline_and_deterministic(tmp_path: Path) -> None:
    first = corpus.build("smoke", tmp_path / "a", install=False, quiet=True)
    second = corpus.build("smoke", tmp_path / "b", install=False, quiet=True)
    assert 40 <= first.logical_files <= 70
    assert first.conflicts == 1  # overrides/robots.txt is shadowed by the site's
    assert _tree(tmp_path / "a" / "assets") == _tree(tmp_path / "b" / "assets")
    assert first.logical_bytes == second.logical_bytes
    recorded = json.loads((tmp_path / "a" / "corpus.json").read_text())
    assert recorded["logical_files"] == first.logical_files
    assert sum(s["files"] for s in recorded["sources"]) == recorded["files"]
    pyproject = (tmp_path / "a" / "corral" / "pyproject.toml").read_text()
    assert "[tool.corral]" in pyproject
    assert 'prefix = "vendor/demo"' in pyproject
    settings = (tmp_path / "a" / "django" / "benchsite" / "settings.py").read_text()
    assert "BENCH_STORAGE" in settings
    assert "('vendor/demo'," in settings


def test_walk_follows_djangos_default_ignores(tmp_path: Path) -> None:
    for name in ("keep.css", ".hidden", "backup~", "CVS/x.txt", ".git/y", "sub/ok.js"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    assert [rel for rel, _ in corpus.walk_source(tmp_path)] == ["keep.css", "sub/ok.js"]


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("a.css", b"body{}"),
        ("a.js", b"x()\n//# sourceMappingURL=a.js.map"),
        ("a.svg", b"<svg/>"),
        ("a.json", b'{"a": 1}'),
        ("a.map", b'{"version": 3}'),
        ("a.png", b"\x89PNG"),
    ],
)
def test_mark_changes_content_and_keeps_json_valid(name: str, data: bytes) -> None:
    one = corpus.mark(data, Path(name).suffix, "m1")
    two = corpus.mark(data, Path(name).suffix, "m2")
    assert one.startswith(data)
    assert len({data, one, two}) == 3
    if name.endswith((".json", ".map")):
        assert json.loads(one) == json.loads(data)


def test_mutator_restores_the_corpus(tmp_path: Path) -> None:
    built = corpus.build("smoke", tmp_path, install=False, quiet=True)
    before = _tree(tmp_path / "assets")
    winners = corpus.logical_files(built.sources)
    mutator = run.Mutator(tmp_path, winners)
    touched = mutator.touch_set()
    assert touched == run.Mutator(tmp_path, winners).touch_set()  # deterministic
    mutator.change(touched)
    mutator.change([mutator.css_file()])
    assert _tree(tmp_path / "assets") != before
    # A killed run leaves its journal; a new Mutator repairs the corpus from it.
    run.Mutator(tmp_path, winners)
    assert _tree(tmp_path / "assets") == before
    assert not (tmp_path / ".bench-pristine").exists()


def test_markdown_block_replaces_only_the_results(tmp_path: Path) -> None:
    page = tmp_path / "performance.md"
    run.write_markdown(page, "first\n")
    text = page.read_text()
    assert text.startswith("# Performance") and "first" in text
    page.write_text(text + "\n## Analysis (by hand)\n\nkeep me\n")
    run.write_markdown(page, "second\n")
    text = page.read_text()
    assert "second" in text and "first" not in text and "keep me" in text


def test_a_named_block_is_replaced_and_a_missing_one_is_an_error(tmp_path: Path) -> None:
    page = tmp_path / "performance.md"
    run.write_markdown(page, "main\n")
    page.write_text(
        page.read_text() + "\n## Elsewhere\n\n<!-- bench:other:start -->\nold\n"
        "<!-- bench:other:end -->\nafter\n"
    )
    run.write_markdown(page, "new\n", "other")
    text = page.read_text()
    assert "main" in text and "stale figures" not in text
    assert "new\n<!-- bench:other:end -->" in text
    assert text.endswith("after\n")
    with pytest.raises(SystemExit, match="no complete block 'third'"):
        run.write_markdown(page, "x\n", "third")
    assert page.read_text() == text  # nothing lost


def test_smoke_run_completes_quickly(tmp_path: Path) -> None:
    out = tmp_path / "smoke.json"
    page = tmp_path / "performance.md"
    start = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            str(HERE / "run.py"),
            "--smoke",
            "--quiet",
            "--json",
            str(out),
            "--markdown",
            str(page),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    elapsed = time.monotonic() - start
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    data = json.loads(out.read_text())
    (entry,) = data["corpora"]
    results = entry["results"]
    assert set(data["meta"]["scenarios"]) == set(run.SCENARIOS)
    # The floors that only need coreutils always run; every available tool ran every
    # scenario it supports, once, successfully.
    assert results["cp"]["cold"]["status"] == "ok"
    for name, tool in entry["tools"].items():
        for scenario, cell in results[name].items():
            if tool["available"] == "yes" and scenario in run.TOOLS[name].scenarios:
                assert cell["status"] == "ok", (name, scenario, cell["note"])
                assert len(cell["runs"]) == 1
                assert cell["rss_mib"] > 0
            elif tool["available"] == "no":
                assert cell["status"] == "skipped" and tool["note"]
    assert "| tool |" in page.read_text()
    print(f"smoke benchmark took {elapsed:.1f} s")


def test_an_interrupted_run_keeps_what_it_measured(tmp_path: Path) -> None:
    out = tmp_path / "smoke.json"
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "run.py"), "--smoke", "--json", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:  # wait for the first measured run, then stop the benchmark
        lines.append(line)
        if line.startswith("cold "):
            proc.send_signal(signal.SIGTERM)
            break
    rest, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, "".join(lines) + rest
    assert "interrupted" in rest
    data = json.loads(out.read_text())
    assert data["meta"]["interrupted"] is True
    (entry,) = data["corpora"]
    cells = [cell for row in entry["results"].values() for cell in row.values()]
    assert any(cell["status"] == "ok" and cell["runs"] for cell in cells)
    assert any(cell["note"] == "the benchmark was interrupted" for cell in cells)
    assert all(cell["status"] != "ok" or cell["runs"] for cell in cells)


def _fake_run(
    date: str, commit: str, tool: str, wall: float, cpu: str = "Test CPU"
) -> dict[str, object]:
    cell = {
        "status": "ok",
        "note": "",
        "median": wall,
        "min": wall,
        "max": wall,
        "rss_mib": 10.0,
        "cpu": wall,
        "runs": [{"wall": wall}],
    }
    corpus_info = {
        "size": "smoke",
        "directory": "/c",
        "logical_files": 10,
        "logical_bytes": 1000,
        "files": 10,
        "conflicts": 0,
        "sources": [],
    }
    return {
        "meta": {
            "date": date,
            "command": f"run {tool}",
            "repeat": 1,
            "scenarios": ["cold"],
            "machine": {"cpu": cpu, "cores": "2"},
            "versions": {"corral commit": commit},
        },
        "corpora": [
            {
                "corpus": corpus_info,
                "load": [],
                "tools": {
                    tool: {"label": tool, "kind": "incumbent", "available": "yes", "note": ""}
                },
                "results": {tool: {"cold": cell}},
                "run": {"date": date, "command": f"run {tool}", "repeat": 1, "scenarios": ["cold"]},
            }
        ],
    }


def test_merging_a_merged_file_keeps_its_runs(tmp_path: Path) -> None:
    paths = []
    for i, (tool, wall) in enumerate([("cp", 1.0), ("rsync", 2.0), ("cp", 3.0)]):
        path = tmp_path / f"{i}.json"
        path.write_text(json.dumps(_fake_run(f"2026-01-0{i + 1} 00:00 UTC", f"c{i}", tool, wall)))
        paths.append(path)
    first = tmp_path / "first.json"
    first.write_text(json.dumps(run.merge_results(paths[:2])))
    again = run.merge_results([first, paths[2]])
    direct = run.merge_results(paths)
    (entry,) = again["corpora"]
    assert [r["command"] for r in entry["runs"]] == ["run cp", "run rsync", "run cp"]
    assert [r["corral"] for r in entry["runs"]] == ["c0", "c1", "c2"]
    assert entry["results"]["cp"]["cold"]["median"] == 3.0  # the later run wins
    assert entry["results"]["rsync"]["cold"]["from_run"] == 1
    assert run.markdown(again) == run.markdown(direct)


def test_runs_on_different_machines_are_named_with_their_cpu(tmp_path: Path) -> None:
    paths = []
    for i, cpu in enumerate(["AMD EPYC", "Intel Xeon"]):
        path = tmp_path / f"{i}.json"
        data = _fake_run(f"2026-01-0{i + 1} 00:00 UTC", f"c{i}", ["cp", "rsync"][i], 1.0, cpu)
        path.write_text(json.dumps(data))
        paths.append(path)
    merged = run.merge_results(paths)
    assert merged["meta"]["machine"]["cpu"] == "per run, below"
    text = run.markdown(merged)
    assert "cpu per run, below" in text
    assert "(kept: `cp`). corral at `c0`. On AMD EPYC." in text
    assert "(kept: `rsync`). corral at `c1`. On Intel Xeon." in text
    same = run.markdown(run.merge_results([paths[0], paths[0]]))
    assert "On AMD EPYC" not in same and "cpu AMD EPYC" in same


def test_no_ratio_is_given_across_machines(tmp_path: Path) -> None:
    paths = []
    runs = [("corral-copy", "AMD EPYC"), ("cp", "Intel Xeon"), ("cp", "AMD EPYC")]
    for i, (tool, cpu) in enumerate(runs):
        data = _fake_run(f"2026-01-0{i + 1} 00:00 UTC", f"c{i}", tool, 1.0 + i, cpu)
        data["corpora"][0]["tools"][tool]["kind"] = (
            "corral" if tool.startswith("corral") else "floor"
        )  # type: ignore[index]
        path = tmp_path / f"{i}.json"
        path.write_text(json.dumps(data))
        paths.append(path)
    across = run.markdown(run.merge_results(paths[:2]))
    assert "| `corral-copy` | cp | \u2013 (other machine) |" in across
    same = run.markdown(run.merge_results([paths[0], paths[2]]))
    assert "| `corral-copy` | cp | 0.33\u00d7" in same


def test_caches_outside_the_work_directory_outlive_the_run(tmp_path: Path) -> None:
    caches = tmp_path / "caches"
    argv = [sys.executable, str(HERE / "run.py"), "--smoke", "--quiet", "--tools", "corral"]
    argv += ["--scenarios", "warm", "--caches", str(caches), "--json", str(tmp_path / "o.json")]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (cell,) = json.loads((tmp_path / "o.json").read_text())["corpora"]
    assert cell["results"]["corral"]["warm"]["status"] == "ok"
    (kept,) = caches.glob("*/corral")  # one directory per corpus and tool, still there
    entries = [p for p in kept.rglob("*") if p.is_file()]
    assert entries, "the warm run's filled cache was removed with the work directory"
