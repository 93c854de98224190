"""A collected site with two releases and traversal bait, shared by every serving test."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

import pytest

from corral import Config, DirectorySource, collect
from corral.manifest import Manifest, read_manifest
from tests.conftest import write_tree

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415478"
    "9c63f8cfc0000003010100c9fe92ef0000000049454e44ae426082"
)
SECRET = b"TOPSECRET-do-not-serve"


def _css(color: str) -> str:
    rules = "".join(f".c{i}{{color:{color};margin:{i}px}}\n" for i in range(120))
    return f'@import "base.css";\nbody{{background:url(../img/dot.png) repeat}}\n{rules}'


SOURCES = {
    "css/base.css": "html{font-family:sans-serif}\n" * 60,
    "js/main.js": 'import { mark } from "./dep.js";\nmark();\n' + "// padding\n" * 200,
    "js/dep.js": "export function mark() { document.body.dataset.loaded = 'yes'; }\n",
    "img/dot.png": PNG,
    "docs/read me.txt": "a file whose name needs percent-encoding\n" * 50,
    "big/text.txt": "".join(f"line {i} of a large compressible text file\n" for i in range(8000)),
}


@dataclass(frozen=True)
class Site:
    root: Path
    manifest: Manifest
    old_css: str  # the previous release's hashed app.css, kept (retained)
    secret: Path


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return make_site(tmp_path_factory)


def make_site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """Collect the site twice (two releases, the first retained) and plant the bait."""
    base = tmp_path_factory.mktemp("site")
    src = write_tree(base / "src", {**SOURCES, "css/app.css": _css("red")})
    rng = random.Random(7)
    (src / "big" / "blob.bin").write_bytes(rng.randbytes(3 * 1024 * 1024))
    (src / "fonts").mkdir()
    (src / "fonts" / "icons.woff2").write_bytes(rng.randbytes(2000))
    root = base / "public"
    config = Config(sources=(DirectorySource(src),), root=root, keep=2)
    collect(config)
    old_css = read_manifest(root / "corral-manifest.json").files["css/app.css"].hashed
    (src / "css" / "app.css").write_text(_css("blue"))
    collect(config)
    # Bait: things a server must never hand out.
    secret = base / "secret.txt"
    secret.write_bytes(SECRET)
    (root / "leak.txt").symlink_to(secret)
    (root / "css" / "leak.css").symlink_to(secret)
    (root / ".env").write_bytes(SECRET)
    (root / "css" / ".hidden.css").write_bytes(SECRET)
    os.chmod(base, 0o755)
    return Site(root, read_manifest(root / "corral-manifest.json"), old_css, secret)
