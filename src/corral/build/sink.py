"""The seam through which a build hands finished files to a publisher while it still runs.

A remote publish overlaps its uploads with the local build: once fingerprinted, each
hashed name's bytes are final, and once compressed, so are its variants'. The build
offers those files to a :class:`ReleaseSink` as they are made (from the build's thread:
an offer must be quick, or block briefly for back-pressure), and calls :meth:`settle`
before it moves anything into place, so every path offered stays readable until the
sink is done with it. The local target has no sink.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["ReleaseSink"]


class ReleaseSink(Protocol):
    """Takes release files whose bytes are final, before the build is complete."""

    def offer(self, relative: str, path: str, sha256: str | None) -> None:
        """``relative`` (a release path) has its final bytes at ``path``; ``sha256`` when
        the build knows it. May raise the sink's own failure, which stops the build."""
        ...

    def settle(self) -> None:
        """Return once no offered path is needed any more (raise the sink's failure)."""
        ...
