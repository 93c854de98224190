"""corral: collect a web app's static files into a directory it owns, safely and fast.

The public API is what ``__all__`` lists; everything else is private.
"""

from __future__ import annotations

from corral.build import clean, collect
from corral.check import CheckReport, check
from corral.config import Config, DirectorySource, PackageSource, load_config
from corral.errors import (
    BuildError,
    ConfigError,
    CorralError,
    DecodeError,
    LockError,
    OwnershipError,
    Problem,
    SourceError,
    TargetError,
)
from corral.find import find
from corral.report import CleanReport, FindResult, Report

__version__ = "0.1.0.dev0"

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
    "OwnershipError",
    "PackageSource",
    "Problem",
    "Report",
    "SourceError",
    "TargetError",
    "__version__",
    "check",
    "clean",
    "collect",
    "find",
    "load_config",
]
