"""The record of one release: the files it consists of (``releases/<id>.json`` in the
state directory, see :mod:`corral.state`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Release"]


@dataclass(frozen=True, slots=True)
class Release:
    """One successful publish: the target files it consists of."""

    id: int
    created: str
    files: dict[str, str]  # target-relative path -> content digest

    def to_json(self) -> dict[str, Any]:
        return {
            "release": self.id,
            "created": self.created,
            "files": self.files,
        }
