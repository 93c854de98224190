"""Shared helpers: run the engine over an in-memory tree, and run real Django over the same tree."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from corral.fingerprint import (
    FileFacts,
    Fingerprint,
    FingerprintOptions,
    FingerprintResult,
    fingerprint,
)
from corral.fingerprint.scan import Found

DRIVER = Path(__file__).with_name("django_driver.py")

Tree = Mapping[str, bytes]


def facts(tree: Tree, *, digests: bool = False) -> dict[str, FileFacts]:
    """FileFacts for ``tree``; with ``digests`` also md5 and integrity, as the pipeline gives."""
    out = {}
    for logical, data in tree.items():
        md5 = hashlib.md5(data).hexdigest() if digests else None
        sri = None
        if digests:
            sri = "sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode()
        out[logical] = FileFacts(logical, hashlib.sha256(data).hexdigest(), len(data), md5, sri)
    return out


@dataclass
class CountingReader:
    """A ``read`` callable over ``tree`` that counts its calls per path."""

    tree: Tree
    calls: Counter[str] = field(default_factory=Counter)

    def __call__(self, logical: str) -> bytes:
        self.calls[logical] += 1
        return self.tree[logical]


def run(
    tree: Tree,
    options: FingerprintOptions | None = None,
    previous: Mapping[str, Fingerprint] | None = None,
    *,
    reader: CountingReader | None = None,
    digests: bool = False,
    found: Mapping[str, Found] | None = None,
    unchanged: Collection[str] = (),
) -> FingerprintResult:
    """Fingerprint ``tree`` (logical path -> bytes)."""
    return fingerprint(
        facts(tree, digests=digests),
        reader or CountingReader(tree),
        previous or {},
        options or FingerprintOptions(),
        found,
        unchanged=unchanged,
    )


def outputs(tree: Tree, result: FingerprintResult) -> dict[str, bytes]:
    """Hashed name -> bytes of every hashed file the run made."""
    return {
        fp.hashed: result.contents.get(logical, tree[logical])
        for logical, fp in result.fingerprints.items()
    }


def names(result: FingerprintResult) -> dict[str, str]:
    return {logical: fp.hashed for logical, fp in result.fingerprints.items()}


@dataclass
class DjangoOutcome:
    error: str | None
    paths: dict[str, str]  # staticfiles.json "paths"
    manifest: dict[str, object]
    files: dict[str, bytes]  # every file under STATIC_ROOT


def write_tree(base: Path, tree: Tree) -> None:
    for logical, data in tree.items():
        path = base / logical
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


Case = tuple[Tree, bool] | tuple[Tree, bool, int]


def run_django(cases: Mapping[str, Case], workdir: Path) -> dict[str, DjangoOutcome]:
    """Run Django 5.2's ManifestStaticFilesStorage over each ``(tree, modules[, passes])`` case.

    ``modules`` is ``support_js_module_import_aggregation``; ``passes`` is
    ``max_post_process_passes`` (Django's default: 5).

    One subprocess for all cases (Django's settings are process-global).
    """
    spec: dict[str, dict[str, object]] = {}
    for name, case in cases.items():
        tree, modules = case[0], case[1]
        passes = case[2] if len(case) == 3 else 5
        src, root = workdir / name / "src", workdir / name / "root"
        write_tree(src, tree)
        root.mkdir(parents=True)
        spec[name] = {"src": str(src), "root": str(root), "modules": modules, "passes": passes}
    proc = subprocess.run(
        [sys.executable, str(DRIVER)],
        input=json.dumps({"cases": spec}),
        capture_output=True,
        text=True,
        check=True,
    )
    raw = json.loads(proc.stdout)
    outcomes = {}
    for name, result in raw.items():
        root = Path(spec[name]["root"])  # type: ignore[arg-type]
        files = {
            p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()
        }
        manifest: dict[str, object] = {}
        if "staticfiles.json" in files:
            manifest = json.loads(files["staticfiles.json"])
        paths = manifest.get("paths", {})
        assert isinstance(paths, dict)
        outcomes[name] = DjangoOutcome(result["error"], paths, manifest, files)
    return outcomes
