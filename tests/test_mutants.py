"""Tests that kill the mutants a hand-made mutation run of the suite left alive (issue 18):
each guards a promise no other test checked on its own."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import corral.state
from corral import BuildError, collect

from .conftest import config_for, served_files, write_tree

_WATCH: list[Path] = []
_SEEN: list[list[str]] = []


def _audit(event: str, args: tuple[object, ...]) -> None:
    if not _WATCH or event not in ("os.rename", "os.replace"):
        return
    root = _WATCH[0]
    if not str(args[1]).startswith(f"{root}/"):
        return
    _SEEN.append(_dangling(root))


sys.addaudithook(_audit)  # an audit hook stays for the process: it acts only when asked


def _dangling(root: Path) -> list[str]:
    """The files the served manifests name that are not in place (right now)."""
    missing = []
    for name in ("staticfiles.json", "corral-manifest.json"):
        try:
            data = json.loads((root / name).read_bytes())
        except (FileNotFoundError, ValueError):
            continue
        if name == "staticfiles.json":
            named = list(data["paths"].values())
        else:
            named = [e["hashed"] for e in data["files"].values()]
            named += [v["path"] for e in data["files"].values() for v in e["encodings"].values()]
        missing += [n for n in named if not (root / n).is_file()]
    return missing


@contextmanager
def renames_into(root: Path) -> Iterator[list[list[str]]]:
    """Check, after every rename into ``root``, which files the served manifests name
    but are missing."""
    _WATCH[:] = [root]
    _SEEN.clear()
    try:
        yield _SEEN
    finally:
        _WATCH.clear()


def test_at_every_point_of_a_publish_a_served_manifest_names_only_files_in_place(
    tmp_path: Path,
) -> None:
    # Mutant (a): renaming the manifests into place first. Each file is fine on its own;
    # what breaks is a manifest naming hashed files that are not there yet.
    css = "".join(f".r{i} {{ background: url(../img/{i}.png) }}\n" for i in range(20))
    tree: dict[str, str | bytes] = {f"img/{i}.png": os.urandom(16) for i in range(20)}
    tree["css/app.css"] = css
    write_tree(tmp_path / "assets", tree)
    config = config_for(tmp_path, "assets", hash=True, compress=True)
    root = tmp_path / "static_root"
    collect(config)  # a first run (renames whole directories), then incremental ones
    for round_ in range(2):
        write_tree(tmp_path / "assets", {f"img/{i}.png": os.urandom(16) for i in range(20)})
        with renames_into(root) as seen:
            collect(config)
        assert seen, "no rename into the root was observed"
        assert all(missing == [] for missing in seen), (round_, seen)


def test_a_hand_placed_file_where_a_directory_must_go_is_never_deleted(tmp_path: Path) -> None:
    # Mutant (b), file in the way of a directory.
    write_tree(tmp_path / "assets", {"a.css": "a{}"})
    config = config_for(tmp_path, "assets")
    collect(config)
    root = tmp_path / "static_root"
    (root / "img").write_text("mine")  # by hand, where img/ must now go
    write_tree(tmp_path / "assets", {"img/logo.png": b"png"})
    with pytest.raises(BuildError) as caught:
        collect(config)
    assert [p.code for p in caught.value.problems] == ["target-obstacle"]
    assert (root / "img").read_text() == "mine"
    collect(config, force=True)  # only --force replaces it
    assert served_files(root)["img/logo.png"] == b"png"


def test_a_hand_placed_directory_where_a_file_must_go_is_never_deleted(tmp_path: Path) -> None:
    # Mutant (b), directory in the way of a file.
    write_tree(tmp_path / "assets", {"a.css": "a{}"})
    config = config_for(tmp_path, "assets")
    collect(config)
    root = tmp_path / "static_root"
    write_tree(root, {"b.css/notes.txt": "mine"})
    write_tree(tmp_path / "assets", {"b.css": "b{}"})
    with pytest.raises(BuildError) as caught:
        collect(config)
    assert [p.code for p in caught.value.problems] == ["target-obstacle"]
    assert (root / "b.css/notes.txt").read_text() == "mine"


def test_a_linked_source_switched_to_an_older_tree_with_the_same_mtimes_is_reread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Mutant (c): identity by mtime alone. Two trees with the same names, sizes and
    # mtimes but other bytes; the source is a link switched from one to the other.
    monkeypatch.setattr(corral.state, "RACY_NS", 0)  # trust what can be trusted
    write_tree(tmp_path / "new", {"a.css": "new{}", "js/x.js": "1"})
    write_tree(tmp_path / "old", {"a.css": "old{}", "js/x.js": "2"})
    for name in ("a.css", "js/x.js"):
        st = (tmp_path / "new" / name).stat()
        os.utime(tmp_path / "old" / name, ns=(st.st_atime_ns, st.st_mtime_ns))
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets/lib").symlink_to(tmp_path / "new")  # a linked directory in a source
    config = config_for(tmp_path, "assets")
    collect(config)
    (tmp_path / "assets/lib").unlink()
    (tmp_path / "assets/lib").symlink_to(tmp_path / "old")
    report = collect(config)
    assert sorted(report.changed) == ["lib/a.css", "lib/js/x.js"]
    assert served_files(tmp_path / "static_root") == {"lib/a.css": b"old{}", "lib/js/x.js": b"2"}
