"""Where :class:`~corral.resolver.Resolver` used to live; kept so old imports work."""

from __future__ import annotations

from corral.resolver import Resolver

__all__ = ["Resolver"]
