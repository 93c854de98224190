"""Small real files for the compression tests, and helpers to check variants."""

from __future__ import annotations

import gzip
import hashlib
import random
import struct
import zlib
from pathlib import Path

import brotli  # type: ignore[import-untyped]
import pytest
import zstandard

from corral.compress import CompressJob, Encoding


def css_text(rules: int, seed: int = 1) -> str:
    """Stylesheet-like text that compresses about as well as real CSS."""
    rng = random.Random(seed)
    props = ["color", "margin", "padding", "border-radius", "font-size", "line-height"]
    out = []
    for i in range(rules):
        body = "; ".join(
            f"{rng.choice(props)}: {rng.randint(0, 64)}px #{rng.randrange(16**6):06x}"
            for _ in range(rng.randint(1, 4))
        )
        out.append(f".c{i}-{rng.choice(['btn', 'nav', 'card', 'grid'])} {{ {body} }}\n")
    return "".join(out)


def js_text(functions: int, seed: int = 2) -> str:
    rng = random.Random(seed)
    return "".join(
        f"export function f{i}(a, b) {{ return a * {rng.randint(1, 999)} + b.length; }}\n"
        for i in range(functions)
    )


def svg_text() -> str:
    rng = random.Random(3)
    paths = "".join(
        f'  <path d="M{rng.randint(0, 99)} {rng.randint(0, 99)}L{rng.randint(0, 99)} '
        f'{rng.randint(0, 99)}" stroke="#{rng.randrange(16**6):06x}"/>\n'
        for _ in range(40)
    )
    return f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">\n{paths}</svg>\n'


def png_bytes(side: int = 32) -> bytes:
    """A valid RGB PNG of noise (so it is really incompressible)."""
    rng = random.Random(4)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + rng.randbytes(side * 3) for _ in range(side))
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def noise(size: int, seed: int = 5) -> bytes:
    return random.Random(seed).randbytes(size)


def job_for(path: Path) -> CompressJob:
    data = path.read_bytes()
    return CompressJob(hashlib.sha256(data).hexdigest(), path, len(data))


def decode(encoding: Encoding, data: bytes) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(data)
    if encoding == "br":
        out: bytes = brotli.decompress(data)
        return out
    return zstandard.ZstdDecompressor().decompress(data)


@pytest.fixture
def site(tmp_path: Path) -> dict[str, Path]:
    """A small static tree: compressible text files, an SVG, a PNG, a tiny file."""
    files: dict[str, bytes] = {
        "css/app.css": css_text(300).encode(),
        "js/app.js": js_text(200).encode(),
        "img/logo.svg": svg_text().encode(),
        "img/photo.png": png_bytes(),
        "data/config.json": b'{"debug": false, "items": [' + b"1, " * 300 + b"2]}\n",
        "robots.txt": b"User-agent: *\n",
    }
    paths = {}
    for name, data in files.items():
        path = tmp_path / "site" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        paths[name] = path
    return paths


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / ".target.corral" / "cache"
