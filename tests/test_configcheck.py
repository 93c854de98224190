"""corral.configcheck: a hand-built Config with a wrong value fails when it is made."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from corral import collect
from corral.config import Config, DirectorySource, load_config
from corral.errors import ConfigError


@pytest.mark.parametrize(
    ("keywords", "key", "says"),
    [
        ({"missing": 5}, "missing", "must be a table of reference kind to policy; found 5"),
        ({"missing": {"url": 5}}, "missing.url", "map reference kinds to policy names"),
        ({"passthrough": 5}, "passthrough", "'passthrough' must be a list of strings; found 5"),
        ({"passthrough": [5]}, "passthrough", "found 5 in it"),
        ({"accept_missing": 5}, "accept_missing", "must be a list of strings; found 5"),
        ({"accept_missing": "*.map"}, "accept_missing", "found '*.map'"),
        ({"jobs": -1}, "jobs", "'jobs' must be a whole number, 1 or more; found -1"),
        ({"jobs": 0}, "jobs", "found 0"),
        ({"jobs": True}, "jobs", "found True"),
        ({"jobs": "2"}, "jobs", "found '2'"),
        ({"modules": 3}, "modules", "'modules' must be true or false; found 3"),
        ({"hash": None}, "hash", "'hash' must be true or false; found None"),
        ({"compress": "yes"}, "compress", "'compress' must be true or false; found 'yes'"),
        ({"link": 1}, "link", "'link' must be true or false; found 1"),
    ],
)
def test_a_wrong_value_is_a_config_error_before_anything_is_written(
    tmp_path: Path, keywords: dict[str, Any], key: str, says: str
) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets/a.css").write_text("a{}", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        Config(
            root=tmp_path / "static",
            sources=(DirectorySource(tmp_path / "assets"),),
            project_root=tmp_path,
            **keywords,
        )
    assert caught.value.key == key
    assert says in caught.value.message
    assert caught.value.file == "arguments"  # a hand-built Config: no file to blame
    assert sorted(p.name for p in tmp_path.iterdir()) == ["assets"]  # no root, no state


def test_a_replaced_value_is_checked_too(tmp_path: Path) -> None:
    good = Config(root=tmp_path / "static", jobs=2, missing={"url": "warn"})
    with pytest.raises(ConfigError) as caught:
        good.with_overrides(jobs=-1)
    assert caught.value.key == "jobs"
    with pytest.raises(ConfigError):
        good.with_overrides(passthrough=5)


def test_good_values_are_kept_as_given(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets/a.css").write_text("a{}", encoding="utf-8")
    config = Config(
        root=tmp_path / "static",
        sources=(DirectorySource(tmp_path / "assets"),),
        jobs=1,
        missing={"sourcemap": "ignore"},
        accept_missing=["vendor/*"],
        passthrough=(r"\.[0-9a-f]{8}\.",),
        project_root=tmp_path,
    )
    assert (config.jobs, config.accept_missing, config.passthrough) == (
        1,
        ["vendor/*"],
        (r"\.[0-9a-f]{8}\.",),
    )
    assert collect(config).published


def test_the_checks_load_no_fingerprint_engine(tmp_path: Path) -> None:
    # The checks run on every Config, and a no-change run must not load the engine.
    import subprocess  # noqa: PLC0415

    code = (
        "import sys; from pathlib import Path; from corral.config import Config; "
        f"Config(root=Path({str(tmp_path)!r}), jobs=2, modules=False, "
        "missing={'url': 'warn'}, accept_missing=['x/*'], passthrough=['y']); "
        "print(any(m.startswith('corral.fingerprint') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_jobs_from_a_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.corral]\nroot = "static"\nsources = ["assets"]\njobs = -1\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(cwd=tmp_path)
    assert caught.value.key == "jobs"
    assert "pyproject.toml" in (caught.value.file or "")


def test_a_bad_kind_from_a_file_fails_before_anything_is_written(tmp_path: Path) -> None:
    # The values (kinds, policies), which need the engine, are checked by the loader.
    (tmp_path / "pyproject.toml").write_text(
        '[tool.corral]\nroot = "static"\nsources = ["assets"]\nmissing = { bogus = "warn" }\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(cwd=tmp_path)
    assert caught.value.key == "missing.bogus"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pyproject.toml"]
