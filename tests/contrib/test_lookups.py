"""corral.contrib.lookups: the manifest and SRI lookups every framework integration shares."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
from pathlib import Path

from corral.contrib.lookups import bare, cached_resolver, file_integrity
from corral.fingerprint import corral_manifest
from corral.manifest import CORRAL_MANIFEST

from ..fingerprint.helpers import run


def write_manifest(root: Path, tree: dict[str, bytes], release: int) -> Path:
    """Write ``tree``'s manifest beside and rename it into place, as collect does."""
    tmp = root / "manifest.tmp"
    tmp.write_bytes(corral_manifest(run(tree).fingerprints, url="/static/", release=release))
    os.replace(tmp, root / CORRAL_MANIFEST)
    return root / CORRAL_MANIFEST


def test_bare_drops_query_and_fragment() -> None:
    assert bare("fonts/x.eot?#iefix") == "fonts/x.eot"
    assert bare("img/a.svg#icon") == "img/a.svg"
    assert bare("css/app.css?v=1") == "css/app.css"
    assert bare("css/app.css") == "css/app.css"


def test_cached_resolver_follows_a_replaced_manifest(tmp_path: Path) -> None:
    assert cached_resolver(tmp_path / CORRAL_MANIFEST, strict=True) is None
    manifest = write_manifest(tmp_path, {"a.css": b"one"}, 1)
    first = cached_resolver(manifest, strict=True)
    assert first is not None
    assert cached_resolver(manifest, strict=True) is first  # read once while unchanged
    old = first.hashed("a.css")
    write_manifest(tmp_path, {"a.css": b"two"}, 2)
    second = cached_resolver(manifest, strict=True)
    assert second is not None and second is not first
    assert second.hashed("a.css") != old
    overridden = cached_resolver(manifest, strict=True, url="/assets/")
    assert overridden is not None and overridden.url("a.css").startswith("/assets/a.")


def test_file_integrity(tmp_path: Path) -> None:
    path = tmp_path / "a.js"
    path.write_bytes(b"x()")
    digest = base64.b64encode(hashlib.sha384(b"x()").digest()).decode()
    assert file_integrity(str(path), "sha384") == f"sha384-{digest}"
    assert file_integrity(str(tmp_path / "gone.js")) == ""


def test_loads_no_framework_and_no_pipeline() -> None:
    code = (
        "import sys, corral.contrib.lookups; "
        "print(sorted(m for m in sys.modules if m.startswith(('corral', 'django'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(eval(out.stdout))
    allowed = {"corral", "corral.contrib", "corral.contrib.lookups", "corral.digest"}
    allowed |= {"corral.errors", "corral.guards", "corral.manifest", "corral.resolver"}
    assert loaded <= allowed, loaded - allowed
