"""Content-hashed names for collected files, and references rewritten to point at them.

(Full docstring to come.)
"""

from __future__ import annotations

from corral.fingerprint.engine import ENGINE_VERSION, fingerprint
from corral.fingerprint.model import FileFacts, Fingerprint, FingerprintResult, Missing, Rewrite
from corral.fingerprint.options import (
    DEFAULT_MISSING,
    DEFAULT_PASSTHROUGH,
    FingerprintOptions,
    Policy,
)

__all__ = [
    "DEFAULT_MISSING",
    "DEFAULT_PASSTHROUGH",
    "ENGINE_VERSION",
    "FileFacts",
    "Fingerprint",
    "FingerprintOptions",
    "FingerprintResult",
    "Missing",
    "Policy",
    "Rewrite",
    "fingerprint",
]
