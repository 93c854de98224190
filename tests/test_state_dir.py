"""corral's private state lives outside the served root: where, how it is chosen, how an
old root's ``.corral/`` is moved out, and what a server pointed at the root can reach."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import corral.state
import corral.targets.local
from corral import LockError, TargetError, check, clean, collect, load_config
from corral.lock import TargetLock
from corral.state import StateDir, releases_location
from corral.statehome import default_location, state_location

from .conftest import config_for, served_files, snapshot, state_path, write_tree


def published_everything(root: Path) -> set[str]:
    """Every file the current release (hashed copies, variants, manifests) consists of."""
    state_dir = StateDir(root)
    release = json.loads(state_dir.state_file.read_bytes())["release"]
    return set(state_dir.load_release(release).files)


def test_the_root_holds_only_published_files_and_the_state_lives_next_to_it(
    project: Path,
) -> None:
    root = project / "static_root"
    collect(config_for(project, hash=True, compress=True))
    assert set(served_files(root)) == published_everything(root)
    assert {"staticfiles.json", "corral-manifest.json"} <= set(served_files(root))
    for content in served_files(root).values():
        assert str(project / "assets").encode() not in content  # no source path leaks
    home = project / ".static_root.corral"
    assert state_path(root) == home == default_location(root)
    assert {"owner.json", "state.json", "lock", "releases", "tmp"} <= set(os.listdir(home))
    assert (home / ".gitignore").read_text().splitlines()[-1] == "*"
    assert json.loads((home / "owner.json").read_text())["root"] == str(root)
    assert releases_location(root) == home / "releases"


@pytest.fixture
def static_server(project: Path) -> Iterator[str]:
    """A naive static file server (the standard library's) pointed at the root."""
    root = project / "static_root"
    root.mkdir(exist_ok=True)
    handler = partial(SimpleHTTPRequestHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_naive_server_pointed_at_the_root_reaches_no_private_file(
    project: Path, static_server: str
) -> None:
    collect(config_for(project, hash=True))
    assert status(f"{static_server}/css/app.css") == 200
    for private in ("owner.json", "state.json", "lock", "pending.json", "releases/00000001.json"):
        assert status(f"{static_server}/.corral/{private}") == 404
        assert status(f"{static_server}/../.static_root.corral/{private}") == 404
        assert status(f"{static_server}/%2e%2e/.static_root.corral/{private}") == 404


def test_state_dir_setting_flag_and_environment(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "pyproject.toml").write_text(
        '[tool.corral]\nroot = "static_root"\nsources = ["assets"]\nstate_dir = "var/state"\n'
    )
    assert load_config(cwd=project).state_dir == project / "var/state"
    monkeypatch.setenv("CORRAL_STATE_DIR", str(project / "from-env"))
    assert load_config(cwd=project).state_dir is None  # the environment beats the file
    assert state_location(project / "static_root") == project / "from-env"
    flag = load_config(cwd=project, overrides={"state_dir": "elsewhere"})  # a flag beats both
    assert flag.state_dir == project / "elsewhere"
    collect(flag)
    assert (project / "elsewhere/owner.json").is_file()
    assert not (project / "var").exists() and not (project / "from-env").exists()

    (project / "pyproject.toml").write_text('[tool.corral]\nroot = "r2"\nsources = ["assets"]\n')
    config = load_config(cwd=project)
    assert config.state_dir is None
    assert state_location(config.root) == project / "from-env"
    collect(config)
    assert (project / "from-env/owner.json").is_file()
    assert {"css/app.css", "js/app.js"} <= set(served_files(project / "r2"))


def test_state_dir_flag_on_the_command_line(project: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "corral", "collect", "--root", "static_root", "--source",
         "assets", "--state-dir", "private", "--no-hash", "--no-compress"],
        cwd=project, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (project / "private/owner.json").is_file()
    assert not (project / ".static_root.corral").exists()


@pytest.mark.parametrize("inside", ["static_root", "static_root/private", "."])
def test_a_state_dir_a_server_could_reach_is_refused(project: Path, inside: str) -> None:
    config = config_for(project, state_dir=project / inside)
    with pytest.raises(TargetError, match="refusing to keep corral's state") as caught:
        collect(config)
    assert "outside the root" in (caught.value.hint or "")
    assert not (project / "static_root").exists()


def test_a_state_dir_holding_someone_elses_files_is_refused(project: Path) -> None:
    write_tree(project / "mine", {"notes.txt": "keep me"})
    with pytest.raises(TargetError, match="is not corral's state directory"):
        collect(config_for(project, state_dir=project / "mine"))
    assert os.listdir(project / "mine") == ["notes.txt"]


# --- the old layout: ROOT/.corral/ -------------------------------------------------------


def make_old_layout(project: Path, **options: object) -> Path:
    """A root as corral 0.1.0.dev left it: its state in ``ROOT/.corral/`` (made by a run
    of today's code, whose state directory is then put back where that version kept it)."""
    root = project / "static_root"
    collect(config_for(project, **options))
    home = state_path(root)
    (home / ".gitignore").unlink()  # the old layout had none
    os.rename(home, root / ".corral")
    assert StateDir(root).legacy
    return root


def test_an_old_root_is_read_in_place_and_reported_by_check(project: Path) -> None:
    root = make_old_layout(project, hash=True)
    before = snapshot(root)
    result = check(config_for(project, hash=True))
    codes = [p.code for p in result.problems]
    assert codes == ["private-in-root"], [str(p) for p in result.problems]
    assert "corral collect" in (result.problems[0].hint or "")
    dry = collect(config_for(project, hash=True), dry_run=True)
    assert dry.unchanged == ["css/app.css", "js/app.js", "lib/lib.js"] and not dry.new
    assert snapshot(root) == before  # reading the old place changed nothing


def test_the_next_run_moves_an_old_state_out_of_the_root(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(corral.state, "RACY_NS", 0)
    root = make_old_layout(project, hash=True, compress=True)
    served = served_files(root)
    report = collect(config_for(project, hash=True, compress=True))
    assert [w.code for w in report.warnings] == ["state-moved"]
    assert str(root / ".corral") in report.warnings[0].message
    assert not (root / ".corral").exists()
    home = state_path(root)
    assert (home / "owner.json").is_file() and (home / ".gitignore").is_file()
    # The state came along: nothing was re-read, republished or repaired.
    assert not report.published and not report.repaired and not report.new
    assert served_files(root) == {k: v for k, v in served.items() if not k.startswith(".corral/")}
    assert check(config_for(project, hash=True, compress=True)).ok
    again = collect(config_for(project, hash=True, compress=True))
    assert again.warnings == [] and not again.state_written


def test_clean_moves_an_old_state_too(project: Path) -> None:
    root = make_old_layout(project)
    clean(config_for(project))
    assert not (root / ".corral").exists() and (state_path(root) / "owner.json").is_file()


def test_a_move_killed_half_way_is_finished_by_the_next_run(project: Path) -> None:
    root = make_old_layout(project)
    home = state_path(root)
    home.mkdir()
    # As if killed after moving some entries (the marker moves last).
    shutil.copytree(root / ".corral/releases", home / "releases")
    os.rename(root / ".corral/state.json", home / "state.json")
    report = collect(config_for(project))
    assert [w.code for w in report.warnings] == ["state-moved"]
    assert not (root / ".corral").exists()
    assert StateDir(root).release_ids() == [1] and not report.published
    assert check(config_for(project)).ok


def test_the_move_waits_for_an_old_corral_holding_the_old_lock(project: Path) -> None:
    root = make_old_layout(project)
    with TargetLock(root / ".corral/lock", root), pytest.raises(LockError):
        collect(config_for(project))
    assert StateDir(root).legacy  # nothing moved
    assert (root / ".corral/owner.json").is_file()


def test_a_leftover_state_in_the_root_is_reported(project: Path) -> None:
    root = project / "static_root"
    collect(config_for(project))
    write_tree(root / ".corral", {"state.json": "{}"})  # an old copy, not corral's any more
    codes = sorted(p.code for p in check(config_for(project)).problems)
    assert codes == ["hand-placed", "private-in-root"]


# --- staging when the state is on another file system ------------------------------------


def test_a_root_on_its_own_file_system_stages_inside_it_only_during_the_run(
    tmpfs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The root is a mount point (as a container volume is); the state is next to it, on
    # the parent's file system, where a rename into the root can't be atomic.
    write_tree(tmp_path / "assets", {"css/app.css": "a{}", "js/app.js": "1"})
    config = config_for(tmp_path, "assets", root=tmpfs)
    seen: list[list[str]] = []
    real_commit = corral.targets.local.LocalTarget._commit

    def spy(self: corral.targets.local.LocalTarget, staged: corral.targets.local.Staged) -> object:
        seen.append(sorted(os.listdir(tmpfs)))
        return real_commit(self, staged)

    monkeypatch.setattr(corral.targets.local.LocalTarget, "_commit", spy)
    collect(config)
    assert state_path(tmpfs).parent == tmp_path  # the state is on another file system
    assert os.stat(state_path(tmpfs)).st_dev != os.stat(tmpfs).st_dev
    assert served_files(tmpfs) == {"css/app.css": b"a{}", "js/app.js": b"1"}
    assert sorted(os.listdir(tmpfs)) == ["css", "js"]  # the staging directory is gone
    (tmp_path / "assets/css/app.css").write_text("b{}")
    assert collect(config).changed == ["css/app.css"]
    assert seen and all(".corral-staging" in names for names in seen)
    assert sorted(os.listdir(tmpfs)) == ["css", "js"]
    assert check(config).ok
