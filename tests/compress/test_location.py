"""Where the shared cache is, and the sizes and ages its limits are written in."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.compress.location import (
    LEGACY_CACHE,
    default_cache_dir,
    parse_age,
    parse_size,
    remove_legacy_cache,
    resolve_cache_dir,
    run_cache,
    variants_dir,
)
from corral.errors import ConfigError


def test_default_follows_xdg_then_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert default_cache_dir({"XDG_CACHE_HOME": "/x/cache"}) == Path("/x/cache/corral")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_cache_dir({}) == tmp_path / ".cache/corral"


def test_the_flag_beats_the_environment_which_beats_the_setting(tmp_path: Path) -> None:
    env = {"CORRAL_CACHE_DIR": str(tmp_path / "env"), "XDG_CACHE_HOME": "/x"}
    assert resolve_cache_dir(tmp_path / "flag", tmp_path / "file", env) == tmp_path / "flag"
    assert resolve_cache_dir(None, tmp_path / "file", env) == tmp_path / "env"
    assert resolve_cache_dir(None, tmp_path / "file", {"XDG_CACHE_HOME": "/x"}) == (
        tmp_path / "file"
    )
    assert resolve_cache_dir(None, None, {"XDG_CACHE_HOME": "/x"}) == Path("/x/corral")
    assert resolve_cache_dir(None, None, {"CORRAL_CACHE_DIR": "", "XDG_CACHE_HOME": "/x"}) == (
        Path("/x/corral")
    )
    assert variants_dir(tmp_path) == tmp_path / "compress"


@pytest.mark.parametrize(
    ("text", "size"),
    [("0", 0), ("512", 512), ("1K", 1024), ("500M", 500 << 20), ("2G", 2 << 30),
     ("1.5GiB", 3 << 29), ("2 gb", 2 << 30), (4096, 4096)],
)  # fmt: skip
def test_sizes(text: str | int, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "-1", "big", "1X", "1e9", True, -5, None])
def test_bad_sizes_are_config_errors(text: object) -> None:
    with pytest.raises(ConfigError, match="must be a size"):
        parse_size(text)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30d", 30 * 86400), ("12h", 43200), ("90m", 5400), ("2w", 14 * 86400), ("45s", 45),
     ("7", 7 * 86400)],
)  # fmt: skip
def test_ages(text: str, seconds: float) -> None:
    assert parse_age(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "-3d", "3y", "inf"])
def test_bad_ages_are_config_errors(text: str) -> None:
    with pytest.raises(ConfigError, match="must be an age"):
        parse_age(text)


def test_a_run_without_the_shared_cache_compresses_into_a_private_one_it_removes(
    tmp_path: Path,
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    with run_cache(None, lambda: scratch) as cache:
        (private,) = scratch.iterdir()
        assert private.name.startswith("nocache-") and str(cache.root) == str(private)
    assert list(scratch.iterdir()) == []


def test_a_run_with_the_shared_cache_uses_its_variants_directory(tmp_path: Path) -> None:
    def no_scratch() -> Path:
        raise AssertionError("a run with the shared cache needs no private directory")

    with run_cache(tmp_path / "cache", no_scratch) as cache:
        assert str(cache.root) == str(variants_dir(tmp_path / "cache"))


def test_an_older_versions_cache_in_the_state_directory_is_removed(tmp_path: Path) -> None:
    state = tmp_path / "state"
    (state / LEGACY_CACHE / "ab").mkdir(parents=True)
    (state / LEGACY_CACHE / "ab/entry").write_bytes(b"x")
    remove_legacy_cache(state)
    assert not (state / LEGACY_CACHE).exists()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep").write_bytes(b"k")
    (state / LEGACY_CACHE).symlink_to(elsewhere)
    remove_legacy_cache(state)  # a link is never followed
    assert (elsewhere / "keep").read_bytes() == b"k"
    remove_legacy_cache(tmp_path / "no-state")  # nothing there: nothing to do
