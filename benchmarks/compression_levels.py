"""What each encoding and level saves against the CPU time it costs, per file type and size.

Run it over a published tree (e.g. ``corral collect --no-compress`` of a benchmark corpus);
every unique content that corral's skip rules let through is compressed once per
(encoding, level), single-threaded, with corral's own encoders (same windows and
parameters as a real run), and its CPU time measured with ``time.thread_time``::

    python benchmarks/compression_levels.py TREE --json levels.json --markdown levels.md

The Markdown has, per encoding and level: bytes in, bytes out, bytes saved, CPU
seconds, and bytes saved per CPU second; split by file type (the files browsers load:
CSS, JS, SVG, fonts, JSON, HTML; source maps; everything else) and size band.
``--levels br:11,10,9`` picks the levels (default: the ones below); ``--sample N`` takes
at most N contents per (type, band), the largest and then evenly spread, and says so.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from corral.compress.encoders import new_encoder
from corral.compress.policy import CompressionOptions

DEFAULT_LEVELS = {
    "gzip": [6, 9],
    "br": [5, 6, 7, 8, 9, 10, 11],
    "zstd": [3, 9, 15, 19],
}
BROWSER = {
    ".css": "css", ".js": "js", ".mjs": "js", ".cjs": "js", ".svg": "svg",
    ".ttf": "font", ".otf": "font", ".eot": "font", ".json": "json",
    ".html": "html", ".htm": "html",
}  # fmt: skip
BANDS = [(4 << 10, "<4K"), (64 << 10, "4K-64K"), (1 << 20, "64K-1M"), (8 << 20, "1M-8M")]


def kind_of(name: str) -> str:
    ext = os.path.splitext(name)[1].lower()
    if ext == ".map":
        return "map"
    return BROWSER.get(ext, "other")


def band_of(size: int) -> str:
    for limit, label in BANDS:
        if size < limit:
            return label
    return ">=8M"


def contents(tree: Path) -> dict[str, tuple[str, Path, int]]:
    """digest -> (kind, a path, size) of every content corral would compress."""
    options = CompressionOptions()
    found: dict[str, tuple[str, Path, int]] = {}
    for dirpath, dirs, files in os.walk(tree):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            path = Path(dirpath, name)
            size = path.stat().st_size
            if options.skip_reason(name, size) is not None:
                continue
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            found.setdefault(digest, (kind_of(name), path, size))
    return found


def encode(data: bytes, encoding: str, level: int) -> tuple[int, float]:
    start = time.thread_time()
    encoder = new_encoder(encoding, level, len(data))  # type: ignore[arg-type]
    size = 0
    for offset in range(0, len(data), 1 << 20):
        size += len(encoder.compress(data[offset : offset + (1 << 20)]))
    size += len(encoder.finish())
    return size, time.thread_time() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tree", type=Path)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--levels", action="append", help="ENC:L1,L2 (repeatable)")
    parser.add_argument("--sample", type=int, default=0, help="contents per (type, band)")
    args = parser.parse_args()
    levels = DEFAULT_LEVELS
    if args.levels:
        levels = {}
        for spec in args.levels:
            enc, _, numbers = spec.partition(":")
            levels[enc] = [int(n) for n in numbers.split(",")]
    found = contents(args.tree)
    cells: dict[tuple[str, str], list[tuple[str, Path, int]]] = defaultdict(list)
    for digest, (kind, path, size) in found.items():
        cells[kind, band_of(size)].append((digest, path, size))
    chosen: list[tuple[str, str, str, Path, int, float]] = []  # + weight
    for (kind, band), items in sorted(cells.items()):
        items.sort(key=lambda item: (-item[2], item[0]))
        picked = items
        if args.sample and len(items) > args.sample:
            step = len(items) / args.sample
            picked = [items[int(i * step)] for i in range(args.sample)]
        weight = sum(i[2] for i in items) / sum(i[2] for i in picked)
        chosen.extend((kind, band, d, p, s, weight) for d, p, s in picked)
    rows = []
    for kind, band, _digest, path, size, weight in chosen:
        data = path.read_bytes()
        for encoding, numbers in levels.items():
            for level in numbers:
                out, cpu = encode(data, encoding, level)
                rows.append(
                    {"kind": kind, "band": band, "size": size, "out": out, "cpu": cpu,
                     "encoding": encoding, "level": level, "weight": weight,
                     "path": str(path.relative_to(args.tree))}
                )  # fmt: skip
        print(f"{kind:5} {band:7} {size:>10,} {path.name}", file=sys.stderr)
    result = {
        "tree": str(args.tree),
        "contents": len(found),
        "measured": len(chosen),
        "sample": args.sample,
        "cpu": os.uname().machine,
        "rows": rows,
    }
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    if args.markdown:
        args.markdown.write_text(markdown(rows))
    return 0


def markdown(rows: list[dict[str, object]]) -> str:
    """Tables: per (kind, band) group, per (encoding, level): in, out, saved, CPU-s, saved/CPU-s."""
    lines: list[str] = []

    def table(title: str, select: object) -> None:
        total: dict[tuple[str, int], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
        for row in rows:
            if not select(row):  # type: ignore[operator]
                continue
            w = float(row["weight"])  # type: ignore[arg-type]
            cell = total[str(row["encoding"]), int(row["level"])]  # type: ignore[call-overload]
            cell[0] += w * float(row["size"])  # type: ignore[arg-type]
            cell[1] += w * float(row["out"])  # type: ignore[arg-type]
            cell[2] += w * float(row["cpu"])  # type: ignore[arg-type]
        if not total:
            return
        lines.extend([f"#### {title}", "", "| encoding | in MB | out MB | saved MB | CPU s | "
                      "MB saved / CPU s |", "|---|---:|---:|---:|---:|---:|"])  # fmt: skip
        for (enc, level), (size, out, cpu) in sorted(total.items()):
            saved = size - out
            rate = saved / cpu / 1e6 if cpu else float("inf")
            lines.append(
                f"| {enc} {level} | {size / 1e6:.2f} | {out / 1e6:.3f} | {saved / 1e6:.3f} | "
                f"{cpu:.1f} | {rate:.2f} |"
            )
        lines.append("")

    table(
        "browser-loaded (CSS, JS, SVG, fonts, JSON, HTML)",
        lambda r: r["kind"] not in ("map", "other"),
    )
    table("source maps", lambda r: r["kind"] == "map")
    table("other", lambda r: r["kind"] == "other")
    for band in [b for _, b in BANDS] + [">=8M"]:
        table(
            f"browser-loaded, {band}",
            lambda r, b=band: r["kind"] not in ("map", "other") and r["band"] == b,
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
