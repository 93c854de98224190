"""Shared helpers of the object-storage tests: a small real project and bucket checks."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from corral.config import Config, load_config
from corral.targets.s3 import RemoteReport, publish
from tests.conftest import write_tree
from tests.targets.conftest import BUCKET

PREFIX = "static"
TARGET = f"s3://{BUCKET}/{PREFIX}"
#: A hashed name (``app.<12 hex>.css``) or a variant of one: what may go up during the build.
HASHED = re.compile(r"\.[0-9a-f]{12}\.[A-Za-z0-9]+(\.(br|gz|zst))?$")

# Small real files: a stylesheet referencing an image and a font, a module importing
# another, an image, and text big enough to be worth compressing.
FILES: dict[str, str | bytes] = {
    "css/app.css": "@import url('base.css');\nbody { background: url('../img/logo.png'); }\n"
    + "/* padding so compression pays */\n" * 40,
    "css/base.css": "html { color: #333; }\n" + ".row { display: flex; }\n" * 40,
    "js/app.js": "import { x } from './lib.js';\nconsole.log(x);\n" + "// note\n" * 60,
    "js/lib.js": "export const x = 1;\n",
    "img/logo.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
    "data/info.json": json.dumps({"items": list(range(200))}),
    "robots.txt": "User-agent: *\n",
}


def make_project(base: Path, files: dict[str, str | bytes] | None = None) -> Path:
    return write_tree(base / "assets", FILES if files is None else files)


def config_for(source: Path, endpoint: str | None, *, keep: int | None = 2, **s3: Any) -> Config:
    return load_config(
        None,
        cwd=source.parent,
        overrides={
            "target": TARGET,
            "sources": [str(source)],
            "endpoint_url": endpoint,
            "keep": keep,
            "s3": {"concurrency": 4, "max_attempts": 3, **s3},
        },
    )


def run(config: Config, **options: Any) -> RemoteReport:
    return publish(config, **options)


def keys(client: Any, prefix: str = PREFIX + "/") -> set[str]:
    found: set[str] = set()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        found.update(item["Key"] for item in page.get("Contents", ()))
    return found


def get(client: Any, relative: str) -> dict[str, Any]:
    return dict(client.get_object(Bucket=BUCKET, Key=f"{PREFIX}/{relative}"))


def body(client: Any, relative: str) -> bytes:
    return bytes(get(client, relative)["Body"].read())


def check_manifest_objects(client: Any) -> int:
    """Every object the bucket's manifests name exists with the bytes they describe.

    Returns how many objects were checked (0 when there is no manifest yet).
    """
    present = keys(client)
    checked = 0
    if f"{PREFIX}/staticfiles.json" in present:
        django = json.loads(body(client, "staticfiles.json"))
        for hashed in django["paths"].values():
            assert f"{PREFIX}/{hashed}" in present, hashed
            checked += 1
    if f"{PREFIX}/corral-manifest.json" not in present:
        return checked
    manifest = json.loads(body(client, "corral-manifest.json"))
    for entry in manifest["files"].values():
        data = body(client, entry["hashed"])
        assert len(data) == entry["size"], entry["hashed"]
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["hashed"]
        checked += 1
        for variant in entry.get("encodings", {}).values():
            data = body(client, variant["path"])
            algorithm, _, expected = variant["integrity"].partition("-")
            digest = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
            assert digest == expected, variant["path"]
            checked += 1
    return checked
