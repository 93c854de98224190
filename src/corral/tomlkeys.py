"""Reading corral's TOML table, and what configuration errors say about it.

``tomllib`` parses without positions, so the line of an offending key is found in the
text; an unknown key gets the known one it most likely means (another case, ``-`` for
``_``, a close spelling).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from corral.errors import ConfigError

__all__ = ["did_you_mean", "key_line", "read_toml", "table_from_file"]


def did_you_mean(key: str, known: Iterable[str]) -> list[str]:
    """The known key ``key`` was probably meant as: same letters in another case (``URL``),
    ``-`` for ``_``, or a close spelling."""
    known = list(known)
    folded = key.replace("-", "_").lower()
    same = [k for k in known if k.lower() == folded]
    return same or _close_matches(folded, known, n=1, cutoff=0.6)


def _close_matches(
    word: str, candidates: Iterable[str], n: int = 1, cutoff: float = 0.6
) -> list[str]:
    import difflib  # noqa: PLC0415 - only for an error message

    return difflib.get_close_matches(word, candidates, n=n, cutoff=cutoff)


_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")


def key_line(path: Path, key: str) -> int | None:
    """The line (1-based) of ``key`` (``"compress.zstd"`` for a nested one) in corral's table
    of the TOML file ``path``: tomllib gives no positions, so the text is searched.

    Looks in ``[tool.corral]`` (or, in a file without one, at the top level), in a
    ``[tool.corral.compress]``-style sub-table, and at dotted keys; a key inside an inline
    table gives the line of the table's own key. None when it can't be found.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    has_tool_table = any(
        (m := _HEADER.match(line)) and _dotted(m[1])[:2] == ["tool", "corral"] for line in lines
    )
    table = ["tool", "corral"] if has_tool_table else []
    parts = key.split(".")

    def assigns(line: str, names: list[str]) -> bool:
        pattern = r"\s*\.\s*".join(rf"[\"']?{re.escape(n)}[\"']?" for n in names)
        return re.match(rf"^\s*{pattern}\s*=", line) is not None

    current: list[str] = []
    head_line: int | None = None
    for number, line in enumerate(lines, 1):
        header = _HEADER.match(line)
        if header and not line.lstrip().startswith("[["):
            current = _dotted(header[1])
            if current == [*table, *parts[:1]] and len(parts) > 1 and head_line is None:
                head_line = number  # [tool.corral.compress]: the key may be inside
            continue
        if current == table and assigns(line, parts):
            return number  # a top-level key, or a dotted one (compress.zstd = …)
        if current == [*table, *parts[:1]] and len(parts) > 1 and assigns(line, parts[1:]):
            return number
        if current == table and head_line is None and assigns(line, parts[:1]):
            head_line = number  # the table's own key (an inline table)
    return head_line


def _dotted(name: str) -> list[str]:
    return [part.strip().strip("\"'") for part in name.split(".")]


def read_toml(path: Path) -> dict[str, Any]:
    """The parsed TOML file at ``path``; a ConfigError naming it if it can't be."""
    import tomllib  # noqa: PLC0415 - only when there is a file to read

    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}", file=str(path)) from exc
    except OSError as exc:
        raise ConfigError(
            f"can't read configuration file {path}: {exc.strerror}", file=str(path)
        ) from exc


def table_from_file(path: Path) -> dict[str, Any]:
    """``[tool.corral]`` of ``path`` (a standalone file: its top level)."""
    data = read_toml(path)
    tool = data.get("tool", {})
    if isinstance(tool, dict) and "corral" in tool:
        table = tool["corral"]
    elif path.name != "pyproject.toml":
        table = data  # a standalone corral.toml holds the keys at top level
    else:
        raise ConfigError(
            f"{path} has no [tool.corral] table",
            hint="add a [tool.corral] table with 'root' and 'sources'",
            file=str(path),
        )
    if not isinstance(table, dict):
        raise ConfigError(f"[tool.corral] in {path} must be a table", file=str(path))
    return table
