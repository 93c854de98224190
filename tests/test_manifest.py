"""The import-light manifest reader: what it reads, what it refuses, what it loads."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from corral import Config, DirectorySource, ManifestError, collect
from corral.manifest import CORRAL_MANIFEST, ManifestEntry, parse_manifest, read_manifest


def _collected(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    (src / "css").mkdir(parents=True)
    (src / "css" / "app.css").write_text("body{background:url(../img.png)}\n" * 40)
    (src / "img.png").write_bytes(b"\x89PNG" + bytes(range(256)))
    root = tmp_path / "root"
    collect(Config(sources=(DirectorySource(src),), root=root))
    return root


def test_reads_what_collect_writes(tmp_path: Path) -> None:
    root = _collected(tmp_path)
    manifest = read_manifest(root / CORRAL_MANIFEST)
    assert manifest.url == "/static/"
    assert set(manifest.files) == {"css/app.css", "img.png"}
    css = manifest.files["css/app.css"]
    assert css.logical == "css/app.css"
    assert css.hashed.startswith("css/app.") and css.hashed.endswith(".css")
    assert css.content_type == "text/css"
    assert css.size == (root / css.hashed).stat().st_size
    assert css.integrity.startswith("sha256-")
    assert manifest.by_hashed[css.hashed] is css
    br = css.encodings["br"]
    assert br.size == (root / br.path).stat().st_size
    assert manifest.files["img.png"].encodings == {}


def test_retained_entries_are_found_by_hashed_name_current_first() -> None:
    entry = {"hashed": "a.111111111111.css", "size": 3, "sha256": "x", "integrity": "i"}
    old = dict(entry, hashed="a.000000000000.css")
    payload = {
        "version": 1,
        "url": "/s/",
        "release": "3",
        "files": {"a.css": entry},
        "retained": {"1": {"a.css": old}, "2": {"b.css": dict(old, hashed="b.2.css")}},
    }
    manifest = parse_manifest(json.dumps(payload).encode())
    assert list(manifest.retained) == ["2", "1"]
    assert manifest.by_hashed["a.000000000000.css"].hashed == "a.000000000000.css"
    assert manifest.by_hashed["a.111111111111.css"] is manifest.files["a.css"]
    assert "b.2.css" in manifest.by_hashed
    assert set(manifest.files) == {"a.css"}


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"{", "not JSON"),
        (b"[]", "not a JSON object"),
        (b'{"version": 9, "files": {}}', "unknown manifest version"),
        (b'{"version": 1, "files": {}}', "no url"),
        (b'{"version": 1, "url": "/", "files": {"a": {"size": 1}}}', "bad entry for 'a'"),
        (b'{"version": 1, "url": "/", "files": {"a": {"hashed": "b", "size": "1"}}}', "bad entry"),
        (b'{"version": 1, "url": "/", "files": {}, "retained": []}', "'retained'"),
        (
            b'{"version": 1, "url": "/", "files": {"a": {"hashed": "b", "size": 1, '
            b'"content_type": 5}}}',
            "bad entry",
        ),
        (
            b'{"version": 1, "url": "/", "files": {"a": {"hashed": "b", "size": 1, "sha256": 7}}}',
            "bad entry",
        ),
    ],
)
def test_corrupt_manifests_are_refused_naming_the_file(data: bytes, why: str) -> None:
    with pytest.raises(ManifestError) as caught:
        parse_manifest(data, where="/x/corral-manifest.json")
    assert "/x/corral-manifest.json" in str(caught.value)
    assert why in str(caught.value)


@pytest.mark.parametrize(
    ("data", "integrity"),
    [
        (b"a", "sha256-" + base64.b64encode(hashlib.sha256(b"a").digest()).decode()),
        (b"b", "sha384-" + base64.b64encode(hashlib.sha384(b"b").digest()).decode()),
        (b"c", "sha256-" + base64.b64encode(hashlib.sha256(b"other").digest()).decode()),
        (b"d", ""),
    ],
)
def test_entries_give_back_the_digests_as_written(data: bytes, integrity: str) -> None:
    sha256 = hashlib.sha256(data).hexdigest()
    odd = {"hashed": "o.css", "size": 1, "sha256": "x", "integrity": "i"}
    record = {"hashed": "a.css", "size": 1, "sha256": sha256, "integrity": integrity}
    payload = {"version": 1, "url": "/", "files": {"a.css": record, "o.css": odd}}
    manifest = parse_manifest(json.dumps(payload).encode())
    entry = manifest.files["a.css"]
    assert (entry.sha256, entry.integrity) == (sha256, integrity)
    assert ManifestEntry.of(
        "a.css", "a.css", 1, "text/css", sha256, integrity, {}
    ) == entry._replace(content_type="text/css")
    assert (manifest.files["o.css"].sha256, manifest.files["o.css"].integrity) == ("x", "i")
    if integrity.startswith("sha256-") and data != b"c":
        assert entry.raw_integrity is None  # held as the digest's bytes only


def test_a_missing_manifest_names_the_path_and_the_command(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as caught:
        read_manifest(tmp_path / CORRAL_MANIFEST)
    assert str(tmp_path / CORRAL_MANIFEST) in str(caught.value)
    assert "corral collect" in (caught.value.hint or "")


@pytest.mark.parametrize(
    "statement",
    [
        "import corral.manifest",
        "from corral import Resolver",
        "from corral.resolver import Resolver",
    ],
)
def test_the_readers_load_no_pipeline_code(statement: str) -> None:
    listing = "print(sorted(m for m in sys.modules if m.startswith('corral')))"
    code = f"{statement}\nimport sys\n{listing}"
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    loaded = set(eval(out))
    assert loaded <= {"corral", "corral.errors", "corral.manifest", "corral.resolver"}, loaded
    assert "corral.manifest" in loaded


def test_collect_lists_the_kept_releases_hashed_files_as_retained(tmp_path: Path) -> None:
    root = _collected(tmp_path)
    first = read_manifest(root / CORRAL_MANIFEST)
    old_css = first.files["css/app.css"].hashed
    (tmp_path / "src" / "css" / "app.css").write_text("body{color:red}\n")
    config = Config(sources=(DirectorySource(tmp_path / "src"),), root=root, keep=1)
    collect(config)
    second = read_manifest(root / CORRAL_MANIFEST)
    assert second.files["css/app.css"].hashed != old_css
    assert list(second.retained) == [first.release]
    # Only what the new release no longer lists; the unchanged image is current.
    assert set(second.retained[first.release]) == {"css/app.css"}
    assert second.by_hashed[old_css] == first.files["css/app.css"]
    assert (root / old_css).is_file()
    (tmp_path / "src" / "css" / "app.css").write_text("body{color:blue}\n")
    collect(config)
    third = read_manifest(root / CORRAL_MANIFEST)
    assert list(third.retained) == [second.release]  # keep=1: the first was pruned
    assert old_css not in third.by_hashed
    assert not (root / old_css).exists()
