"""``corral compress DIR``: variants for a tree another tool built."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import brotli

from ..conftest import served_files, snapshot, write_tree

CSS = "".join(f".c{n} {{ padding: {n}px }}\n" for n in range(300))


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "corral", "compress", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def test_writes_variants_next_to_files_and_a_rerun_writes_nothing(tmp_path: Path) -> None:
    dist = write_tree(
        tmp_path / "dist",
        {
            "app.css": CSS,
            "js/app.js": "console.log(1);\n" * 200,
            "logo.png": os.urandom(2000),
            "old.css.gz": gzip.compress(b"x"),  # a variant, not an input
            ".hidden/x.css": CSS,
        },
    )
    first = run("dist", "--cache", "cache", "--json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert sorted(report["written"]) == sorted(
        f"{base}{ext}" for base in ("app.css", "js/app.js") for ext in (".gz", ".br", ".zst")
    )
    files = served_files(dist)
    assert gzip.decompress(files["app.css.gz"]) == CSS.encode()
    assert brotli.decompress(files["js/app.js.br"]) == files["js/app.js"]
    assert not (dist / "logo.png.gz").exists() and not (dist / ".hidden/x.css.gz").exists()
    before = snapshot(dist)
    again = json.loads(run("dist", "--cache", "cache", "--json", cwd=tmp_path).stdout)
    assert again["written"] == [] and again["computed"] == 0 and again["unchanged"] == 6
    assert snapshot(dist) == before


def test_a_changed_file_gets_new_variants_and_flags_turn_encodings_off(tmp_path: Path) -> None:
    dist = write_tree(tmp_path / "dist", {"a.css": CSS, "b.css": CSS + "/* b */"})
    assert run("dist", "--cache", "cache", "--no-brotli", "--no-zstd", cwd=tmp_path).returncode == 0
    assert sorted(p for p in served_files(dist) if p.endswith(".gz")) == ["a.css.gz", "b.css.gz"]
    assert not list(dist.glob("*.br"))
    (dist / "a.css").write_text(CSS + "/* changed */")
    result = json.loads(
        run("dist", "--cache", "cache", "--no-brotli", "--no-zstd", "--json", cwd=tmp_path).stdout
    )
    assert result["written"] == ["a.css.gz"]
    assert gzip.decompress((dist / "a.css.gz").read_bytes()) == (dist / "a.css").read_bytes()


def test_not_a_directory_is_a_clear_error(tmp_path: Path) -> None:
    result = run("nowhere", cwd=tmp_path)
    assert result.returncode == 1
    assert "nowhere is not a directory" in result.stderr
