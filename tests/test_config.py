from __future__ import annotations

from pathlib import Path

import pytest

from corral.config import (
    DEFAULT_IGNORE,
    Config,
    DirectorySource,
    PackageSource,
    find_config_file,
    load_config,
    parse_source,
)
from corral.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_tool_corral_table_with_paths_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    write(
        tmp_path / "pyproject.toml",
        """
[tool.corral]
root = "out"
url = "https://cdn.example.com/s/"
sources = ["assets", "vendor/x=node_modules/x/dist", {dir = "lib", prefix = "lib"},
           {package = "mypkg"}, {package = "other", subdir = "assets", prefix = "o"}]
ignore = ["*.map", "js/vendor"]
strict = true
keep = 5
""",
    )
    config = load_config(cwd=tmp_path / "sub")  # found by walking up
    assert config.root == tmp_path / "out"
    assert config.url == "https://cdn.example.com/s/"
    assert config.sources == (
        DirectorySource(tmp_path / "assets", ""),
        DirectorySource(tmp_path / "node_modules/x/dist", "vendor/x"),
        DirectorySource(tmp_path / "lib", "lib"),
        PackageSource("mypkg", "", "static"),
        PackageSource("other", "o", "assets"),
    )
    assert config.ignore_patterns == (*DEFAULT_IGNORE, "*.map", "js/vendor")
    assert config.strict is True
    assert config.keep == 5
    assert config.project_root == tmp_path


def test_the_integrity_hash_is_read_and_checked(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.corral]\nroot = "out"\nintegrity = "sha384"\n')
    assert load_config(cwd=tmp_path).integrity == "sha384"
    assert Config(root=tmp_path / "out").integrity == "sha256"  # the content digest's own
    write(tmp_path / "pyproject.toml", '[tool.corral]\nroot = "out"\nintegrity = "md5"\n')
    with pytest.raises(ConfigError) as info:
        load_config(cwd=tmp_path)
    assert info.value.key == "integrity"
    assert info.value.file == str(tmp_path / "pyproject.toml")
    assert "one of sha256, sha384, sha512; found 'md5'" in info.value.message
    with pytest.raises(ConfigError, match="integrity"):
        Config(root=tmp_path / "out", integrity="SHA384")


def test_unknown_key_is_an_error_with_a_did_you_mean_hint(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.corral]\nroot = "out"\nsorces = ["a"]\n')
    with pytest.raises(ConfigError) as info:
        load_config(cwd=tmp_path)
    assert info.value.key == "sorces"
    assert info.value.hint == "did you mean 'sources'?"
    assert info.value.file == str(tmp_path / "pyproject.toml")


def test_kebab_case_key_suggests_the_snake_case_one(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.corral]\nroot = "o"\ndefault-ignore = false\n')
    with pytest.raises(ConfigError, match="unknown configuration key 'default-ignore'") as info:
        load_config(cwd=tmp_path)
    assert info.value.hint == "did you mean 'default_ignore'?"


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ('root = 3\nsources = ["a"]', "root"),
        ('root = "o"\nsources = "a"', "sources"),
        ('root = "o"\nignore = "*.map"', "ignore"),
        ('root = "o"\nstrict = "yes"', "strict"),
        ('root = "o"\nkeep = -1', "keep"),
        ('root = "o"\nkeep = true', "keep"),
        ('root = "o"\nurl = "static"', "url"),
        ('root = "o"\nsources = [{dir = "a", package = "b"}]', "sources"),
        ('root = "o"\nsources = [{dri = "a"}]', "sources"),
        ('root = "o"\nsources = ["../=a"]', "sources"),
        ('root = "o"\nsources = ["x="]', "sources"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, body: str, key: str) -> None:
    write(tmp_path / "pyproject.toml", f"[tool.corral]\n{body}\n")
    with pytest.raises(ConfigError) as info:
        load_config(cwd=tmp_path)
    assert info.value.key == key


def test_missing_root_says_how_to_set_it(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.corral]\nsources = ["a"]\n')
    with pytest.raises(ConfigError, match="no target directory") as info:
        load_config(cwd=tmp_path)
    assert "--root" in (info.value.hint or "")


def test_invalid_toml_is_a_config_error(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.corral\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(config_file=tmp_path / "pyproject.toml", cwd=tmp_path)


def test_overrides_replace_sources_and_add_ignores(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        '[tool.corral]\nroot = "out"\nsources = ["a"]\nignore = ["*.map"]\n',
    )
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    config = load_config(
        tmp_path / "pyproject.toml",
        cwd=elsewhere,
        overrides={"sources": ["p=b"], "ignore": ["*.txt"], "root": "r", "default_ignore": False},
    )
    assert config.sources == (DirectorySource(elsewhere / "b", "p"),)
    assert config.ignore_patterns == ("*.map", "*.txt")
    assert config.root == elsewhere / "r"  # flag paths are relative to where you are


def test_standalone_config_file_holds_keys_at_top_level(tmp_path: Path) -> None:
    path = write(tmp_path / "corral.toml", 'root = "out"\nsources = ["a"]\n')
    config = load_config(path, cwd=tmp_path)
    assert config.root == tmp_path / "out"


def test_pyproject_without_table_is_skipped_when_searching(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[project]\nname = 'x'\n")
    assert find_config_file(tmp_path) is None
    with pytest.raises(ConfigError, match="no target directory"):
        load_config(cwd=tmp_path)


def test_config_validates_when_built_directly(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        Config(root=tmp_path, url="static/")
    with pytest.raises(ConfigError):
        Config(root=tmp_path, keep=-2)


def test_cache_dir_flag_then_environment_then_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(
        tmp_path / "pyproject.toml",
        '[tool.corral]\nroot = "out"\ncache_dir = "build/cache"\ncache_max_size = "1G"\njobs = 3\n',
    )
    monkeypatch.delenv("CORRAL_CACHE_DIR")
    config = load_config(cwd=tmp_path)
    assert config.compression_cache_dir() == tmp_path / "build/cache"
    assert (config.cache_max_size, config.jobs) == (1 << 30, 3)
    monkeypatch.setenv("CORRAL_CACHE_DIR", str(tmp_path / "env"))
    assert load_config(cwd=tmp_path).compression_cache_dir() == tmp_path / "env"
    flagged = load_config(cwd=tmp_path, overrides={"cache_dir": "flag", "cache": True})
    assert flagged.compression_cache_dir() == tmp_path / "flag"
    assert load_config(cwd=tmp_path, overrides={"cache": False}).compression_cache_dir() is None


@pytest.mark.parametrize(
    ("body", "key"),
    [("cache = 1", "cache"), ("cache_dir = 5", "cache_dir"),
     ('cache_max_size = "lots"', "cache_max_size"), ("jobs = 0", "jobs")],
)  # fmt: skip
def test_bad_cache_settings_name_the_key(tmp_path: Path, body: str, key: str) -> None:
    write(tmp_path / "pyproject.toml", f'[tool.corral]\nroot = "out"\n{body}\n')
    with pytest.raises(ConfigError) as info:
        load_config(cwd=tmp_path)
    assert info.value.key == key and info.value.file == str(tmp_path / "pyproject.toml")


def test_compression_levels_and_sizes_from_the_file(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        '[tool.corral]\nroot = "out"\n'
        'compress = { max_size = "64M", levels = { "*.map" = { brotli_level = 5 }, '
        '"*.bin" = false } }\n',
    )
    options = load_config(cwd=tmp_path).compression_options()
    assert options.max_size == 64 << 20
    assert options.levels == (("*.map", (("brotli_level", 5),)), ("*.bin", False))
    write(
        tmp_path / "pyproject.toml",
        '[tool.corral]\nroot = "out"\ncompress = { levels = { "*.map" = { brotli = 5 } } }\n',
    )
    with pytest.raises(ConfigError, match=r"levels\.'\*\.map'") as info:
        load_config(cwd=tmp_path).compression_options()
    assert info.value.file == str(tmp_path / "pyproject.toml")


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ({"brotli_levl": 11}, "compress.brotli_levl"),  # an unknown key
        ({"brotli_level": 99}, "compress"),  # a value out of range
        ({"min_size": "lots"}, "compress.min_size"),  # a size that is not one
    ],
)
def test_a_config_built_by_hand_with_a_bad_compress_table_fails_before_any_run(
    tmp_path: Path, table: dict[str, object], key: str
) -> None:
    # Python callers build Config without load_config: the table is checked when the
    # Config is made, so a run never starts (and never makes the root or its state).
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets/a.css").write_text("a{}", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        Config(
            root=tmp_path / "static",
            sources=(DirectorySource(tmp_path / "assets"),),
            compression=table,
            project_root=tmp_path,
        )
    assert info.value.key == key
    assert sorted(p.name for p in tmp_path.iterdir()) == ["assets"]
    good = Config(root=tmp_path / "static", compression={"brotli_level": 5})
    with pytest.raises(ConfigError):
        good.with_overrides(compression=table)  # a replaced table is checked too
    # Compression turned off: the table is not used, so it is not held against the run.
    assert Config(root=tmp_path / "static", compress=False, compression=table).compress is False


# --- where a mistake is -------------------------------------------------------------------

PROJECT = """\
[project]
name = "site"

[tool.corral]
root = "static_root"
sources = ["assets"]
{extra}
[tool.other]
URL = "not ours"
"""


def _error_for(tmp_path: Path, extra: str) -> ConfigError:
    write(tmp_path / "pyproject.toml", PROJECT.format(extra=extra))
    with pytest.raises(ConfigError) as info:
        load_config(cwd=tmp_path)
    assert info.value.file == str(tmp_path / "pyproject.toml")
    return info.value


@pytest.mark.parametrize(
    ("extra", "line", "key"),
    [
        ('URL = "/s/"\n', 7, "URL"),  # a wrong-case key; [tool.other]'s URL is not ours
        ("keep = -1\n", 7, "keep"),
        ("\n\nhash = 'yes'\n", 9, "hash"),
        ("compress = { brotli_levl = 11 }\n", 7, "compress.brotli_levl"),  # an inline table
        ("compress.zstd_levle = 3\n", 7, "compress.zstd_levle"),  # a dotted key
        ("[tool.corral.compress]\nzstd = true\nmin_sise = 9\n", 9, "compress.min_sise"),
        ('missing = { urll = "warn" }\n', 7, "missing.urll"),
        ('sources_ = ["x"]\n', 7, "sources_"),
    ],
)
def test_an_error_names_the_file_and_the_line_of_the_key(
    tmp_path: Path, extra: str, line: int, key: str
) -> None:
    error = _error_for(tmp_path, extra)
    assert (error.key, error.line) == (key, line)
    assert error.where == f"{tmp_path / 'pyproject.toml'}:{line} (key {key!r})"
    assert error.to_dict()["line"] == line


def test_a_wrong_case_key_gets_a_did_you_mean(tmp_path: Path) -> None:
    assert _error_for(tmp_path, 'URL = "/s/"\n').hint == "did you mean 'url'?"
    assert _error_for(tmp_path, "Default-Ignore = false\n").hint == "did you mean 'default_ignore'?"
    nested = _error_for(tmp_path, "compress = { ZSTD = false }\n")
    assert nested.hint == "did you mean 'zstd'?"


def test_a_standalone_file_gets_lines_too(tmp_path: Path) -> None:
    write(tmp_path / "corral.toml", 'root = "out"\nsources = []\n\nkep = 3\n')
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "corral.toml", cwd=tmp_path)
    assert (info.value.line, info.value.hint) == (4, "did you mean 'keep'?")


def test_a_bad_flag_value_is_not_blamed_on_the_file(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", PROJECT.format(extra='url = "/s/"\n'))
    with pytest.raises(ConfigError) as info:
        load_config(cwd=tmp_path, overrides={"url": "nope"})
    assert (info.value.file, info.value.line) == ("the command line", None)


def test_a_source_from_a_flag_says_so_in_its_hint(tmp_path: Path) -> None:
    from corral.sources import resolve_sources  # noqa: PLC0415

    write(tmp_path / "pyproject.toml", PROJECT.format(extra=""))
    from_flags = load_config(cwd=tmp_path, overrides={"sources": ["nope"]})
    [problem] = resolve_sources(from_flags.sources, from_flags.origin)[1]
    assert (
        problem.hint
        == "create it, or fix or remove this source in the command line (--source/--package)"
    )
    from_file = load_config(cwd=tmp_path)
    [problem] = resolve_sources(from_file.sources, from_file.origin)[1]
    assert (
        problem.hint == f"create it, or fix or remove this source in {tmp_path / 'pyproject.toml'}"
    )


@pytest.mark.parametrize("prefix", ["/abs", "a?b", "a#b", "a\\b", "%2e%2e", "a\x01b", ".."])
def test_a_prefix_no_url_path_carries_is_refused(tmp_path: Path, prefix: str) -> None:
    with pytest.raises(ConfigError, match="source prefix"):
        parse_source(f"{prefix}=assets", tmp_path, "test")


@pytest.mark.parametrize("prefix", [".well-known", "vendor/x/", "a-b_c.d"])
def test_a_plain_prefix_is_accepted(tmp_path: Path, prefix: str) -> None:
    assert parse_source(f"{prefix}=assets", tmp_path, "test").prefix == prefix.strip("/")
