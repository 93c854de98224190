"""The public surface is deliberate: changing it must change this test."""

from __future__ import annotations

import importlib
import pkgutil

import corral


def test_public_api_is_exactly_this() -> None:
    assert corral.__all__ == [
        "BuildError",
        "CheckReport",
        "CleanReport",
        "Config",
        "ConfigError",
        "CorralError",
        "DecodeError",
        "DirectorySource",
        "FindResult",
        "LockError",
        "ManifestError",
        "OwnershipError",
        "PackageSource",
        "Problem",
        "Report",
        "Resolver",
        "SourceError",
        "TargetError",
        "__version__",
        "check",
        "clean",
        "collect",
        "find",
        "load_config",
    ]
    for name in corral.__all__:
        assert hasattr(corral, name), name


def test_errors_form_one_tree() -> None:
    for name in ("BuildError", "ConfigError", "ManifestError", "SourceError", "TargetError"):
        assert issubclass(getattr(corral, name), corral.CorralError)
    assert issubclass(corral.DecodeError, corral.SourceError)
    assert issubclass(corral.LockError, corral.TargetError)
    assert issubclass(corral.OwnershipError, corral.TargetError)


def test_importing_any_module_never_replaces_an_exported_function() -> None:
    # A submodule named like an exported function would replace it once imported
    # (``corral.find`` a module instead of the function): none may be.
    modules = {info.name for info in pkgutil.iter_modules(corral.__path__)} - {"__main__"}
    assert modules & set(corral.__all__) == set()
    for name in sorted(modules):
        importlib.import_module(f"corral.{name}")
    assert callable(corral.find) and callable(corral.check) and callable(corral.collect)
