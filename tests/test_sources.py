from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from corral.config import PackageSource
from corral.sources import resolve_sources

from .conftest import write_tree


@pytest.fixture
def site_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A real importable package directory on sys.path."""
    root = tmp_path / "site"
    write_tree(
        root,
        {
            "shop/__init__.py": "",
            "shop/static/shop/cart.css": ".cart{}",
            "plain/__init__.py": "",
            "themed/__init__.py": "",
            "themed/assets/t.css": "t",
            "single.py": "",
        },
    )
    monkeypatch.syspath_prepend(str(root))
    yield root
    for name in ("shop", "plain", "themed", "single"):
        sys.modules.pop(name, None)


def test_package_static_directory_is_found(site_packages: Path) -> None:
    resolved, problems = resolve_sources((PackageSource("shop"),), "test")
    assert problems == []
    assert resolved[0].path == site_packages / "shop/static"


def test_package_subdir_can_be_chosen(site_packages: Path) -> None:
    resolved, _ = resolve_sources((PackageSource("themed", subdir="assets"),), "test")
    assert resolved[0].path == site_packages / "themed/assets"


@pytest.mark.parametrize(
    ("package", "message"),
    [
        ("not_installed_anywhere", "is not an installed package"),
        ("single", "is not an installed package"),
        ("plain", "has no static/ directory"),
    ],
)
def test_unusable_packages_are_reported(site_packages: Path, package: str, message: str) -> None:
    resolved, [problem] = resolve_sources((PackageSource(package),), "pyproject.toml")
    assert resolved == []
    assert problem.code == "missing-source"
    assert message in problem.message
    assert problem.hint
