"""corral: collect a web app's static files into a directory it owns, safely and fast.

The public API is what ``__all__`` lists; everything else is private. Names are
imported on first use, so ``corral collect`` loads only what a run needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from corral.errors import (
    BuildError,
    ConfigError,
    CorralError,
    DecodeError,
    LockError,
    ManifestError,
    OwnershipError,
    Problem,
    SourceError,
    TargetError,
)

if TYPE_CHECKING:
    from corral.build import clean, collect
    from corral.config import Config, DirectorySource, PackageSource, load_config
    from corral.diagnose import CheckReport, check
    from corral.lookup import find
    from corral.report import CleanReport, FindResult, Report
    from corral.resolver import Resolver

__version__ = "0.1.0.dev0"

_LAZY = {
    "CheckReport": "corral.diagnose",
    "CleanReport": "corral.report",
    "Config": "corral.config",
    "DirectorySource": "corral.config",
    "FindResult": "corral.report",
    "PackageSource": "corral.config",
    "Report": "corral.report",
    "Resolver": "corral.resolver",
    "check": "corral.diagnose",
    "clean": "corral.build",
    "collect": "corral.build",
    "find": "corral.lookup",
    "load_config": "corral.config",
}

__all__ = [
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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'corral' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
