"""The command-line floor of corral's own compression work: what corral compresses, at
the levels it uses, done by the ``gzip``, ``brotli`` and ``zstd`` programs instead.

``python benchmarks/levels_floor.py CONFIG ROOT OUT`` reads corral's compression
options from ``CONFIG`` (a ``pyproject.toml`` with ``[tool.corral]``) and the files of a
release corral published into ``ROOT`` with ``--no-compress`` (the originals and the
hashed copies, manifests left out), keeps each content once (corral compresses each
content once), drops what corral's policy skips (size, type, the incompressible probe)
and writes ``OUT``: one shell command per line, each running one program at one level on
up to 16 files, the costliest first. ``run.py``'s ``cli-levels`` floor runs those lines
with ``xargs -P <cores>``. It needs corral importable (run it with corral's
interpreter); the runner does that.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import sys
from collections import defaultdict
from pathlib import Path

#: Files per command: enough to amortise the program's start-up, few enough to share out.
BATCH = 16
#: The manifests corral writes last; they are not compressed.
MANIFESTS = {"corral-manifest.json", "staticfiles.json"}


def commands(config_file: Path, root: Path) -> list[str]:
    """The floor's command lines for the release in ``root``."""
    from corral.compress.engine import _cost  # noqa: PLC0415 - corral's own cost table
    from corral.compress.probe import incompressible  # noqa: PLC0415
    from corral.compress.worker import Task  # noqa: PLC0415
    from corral.config import load_config  # noqa: PLC0415

    options = load_config(config_file).compression_options()
    seen: set[str] = set()
    groups: dict[tuple[str, int], list[tuple[int, Path]]] = defaultdict(list)
    for path in sorted(root.rglob("*")):
        relpath = path.relative_to(root).as_posix()
        if not path.is_file() or path.is_symlink() or relpath in MANIFESTS:
            continue
        size = path.stat().st_size
        if options.skip_reason(relpath, size) is not None:
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest in seen:
            continue  # a hashed copy with its original's bytes
        seen.add(digest)
        encodings = options.encodings_for(relpath, size)
        if encodings and incompressible(path, size):
            continue
        for encoding, level in encodings:
            groups[encoding, level].append((size, path))
    lines: list[tuple[int, str]] = []
    for (encoding, level), files in groups.items():
        files.sort(key=lambda item: -item[0])
        for start in range(0, len(files), BATCH):
            batch = files[start : start + BATCH]
            cost = sum(_cost(Task("", "0" * 64, "", size, encoding, level)) for size, _ in batch)  # type: ignore[arg-type]
            lines.append((cost, _command(encoding, level, [p for _, p in batch])))
    lines.sort(key=lambda item: -item[0])
    return [line for _, line in lines]


def _command(encoding: str, level: int, paths: list[Path]) -> str:
    if encoding == "gzip":
        argv = ["gzip", f"-{level}", "-k", "-f", "-n"]
    elif encoding == "br":
        argv = ["brotli", "-q", str(level), "-k", "-f"]
    else:  # one thread, as corral's encoder; --ultra is not needed up to 19
        argv = ["zstd", f"-{level}", "-k", "-f", "-q", "--single-thread"]
    return shlex.join([*argv, *map(os.fspath, paths)])


def main(argv: list[str]) -> int:
    config_file, root, out = (Path(a) for a in argv)
    lines = commands(config_file, root)
    out.write_text("".join(line + "\n" for line in lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
