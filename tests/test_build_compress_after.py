"""compress = "after": the release is published first, its variants in a follow-up release."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

import corral.build.compress
from corral import collect
from corral.config import load_config
from corral.errors import ConfigError
from corral.serve.responder import Responder

from .conftest import config_for, write_tree

FILES = {
    "css/app.css": "body { background: url(../img/dot.svg) }\n" * 40,
    "js/app.js": "console.log('hello, world');\n" * 60,
    "img/dot.svg": "<svg xmlns='http://www.w3.org/2000/svg'><circle r='1'/></svg>\n" * 20,
}


@pytest.fixture
def site(tmp_path: Path) -> Path:
    write_tree(tmp_path / "assets", FILES)
    return tmp_path


def after_config(site: Path) -> Any:
    return config_for(site, "assets", hash=True, compress=True, compress_after=True)


def manifest(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((root / "corral-manifest.json").read_bytes())
    return data


def served(root: Path) -> dict[str, tuple[int, str | None, bytes]]:
    """Every file of the manifest as a server answers a client accepting gzip:
    status, Content-Encoding, and the body decoded."""
    responder = Responder(root, "/static/")
    out = {}
    for logical, entry in manifest(root)["files"].items():
        accept = {"accept-encoding": "gzip"}
        response = responder.respond("GET", "/static/" + entry["hashed"], accept.get)
        headers = {name.lower(): value for name, value in response.headers}
        body = response.body
        if response.file is not None:
            with response.file:
                response.file.seek(response.offset)
                body = response.file.read(response.length)
        if headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        out[logical] = (response.code, headers.get("content-encoding"), body)
    return out


def test_the_first_publish_lists_no_encodings_and_serves_every_file(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = site / "static_root"
    seen: list[tuple[str, dict[str, Any], dict[str, tuple[int, str | None, bytes]]]] = []
    real = corral.build.compress.compress_stage

    def look_first(*args: Any, **kwargs: Any) -> Any:
        entry = manifest(root)
        seen.append((entry["release"], entry["files"], served(root)))
        return real(*args, **kwargs)

    monkeypatch.setattr(corral.build.compress, "compress_stage", look_first)
    report = collect(after_config(site))

    assert len(seen) == 1  # compressed once, after the first publish
    release, files, answers = seen[0]
    assert int(release) == 1 == report.early_release
    assert all(not entry.get("encodings") for entry in files.values())
    assert sorted(answers) == sorted(FILES)
    for logical, (code, encoding, body) in answers.items():
        assert code == 200 and encoding is None, logical  # identity until the variants come
        if logical != "css/app.css":  # the stylesheet is rewritten (the SVG's hashed name)
            assert body == FILES[logical].encode()

    assert report.release == 2 and report.published
    # three encodings of each original and of the rewritten stylesheet's hashed copy (the
    # other hashed copies have their original's bytes)
    assert report.compressed + report.compress_cache_hits == 3 * (len(FILES) + 1)
    final = manifest(root)
    assert int(final["release"]) == 2
    for logical, entry in final["files"].items():
        assert set(entry["encodings"]) == {"gzip", "br", "zstd"}, logical
        for variant in entry["encodings"].values():
            assert (root / variant["path"]).is_file()
    for logical, (code, encoding, body) in served(root).items():
        assert (code, encoding) == (200, "gzip"), logical
        assert body == answers[logical][2]  # the same bytes, now compressed


def test_a_run_stopped_between_the_two_leaves_a_consistent_release(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = site / "static_root"

    def killed(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt  # as if the process were stopped while compressing

    monkeypatch.setattr(corral.build.compress, "compress_stage", killed)
    with pytest.raises(KeyboardInterrupt):
        collect(after_config(site))
    entry = manifest(root)
    assert int(entry["release"]) == 1
    assert all(not e.get("encodings") for e in entry["files"].values())
    assert {code for code, _, _ in served(root).values()} == {200}
    assert not list(root.rglob("*.gz")) and not list(root.rglob("*.br"))

    monkeypatch.undo()
    report = collect(after_config(site))  # the next run compresses: one follow-up release
    assert report.release == 2 and report.early_release is None and report.published
    assert all(
        set(e["encodings"]) == {"gzip", "br", "zstd"} for e in manifest(root)["files"].values()
    )


def test_a_run_with_nothing_new_publishes_nothing(site: Path) -> None:
    config = after_config(site)
    collect(config)
    report = collect(config)
    assert not report.published and report.release == 2 and report.early_release is None


def test_compress_after_in_the_project_file(tmp_path: Path) -> None:
    project = tmp_path / "pyproject.toml"
    project.write_text('[tool.corral]\nroot = "out"\nsources = ["src"]\ncompress = "after"\n')
    config = load_config(project)
    assert config.compress and config.compress_after
    project.write_text('[tool.corral]\nroot = "out"\nsources = ["src"]\ncompress = "later"\n')
    with pytest.raises(ConfigError, match='"after"'):
        load_config(project)


def test_turning_compression_off_publishes_a_manifest_without_encodings(site: Path) -> None:
    root = site / "static_root"
    collect(config_for(site, "assets", hash=True, compress=True))
    assert all(e["encodings"] for e in manifest(root)["files"].values())
    report = collect(config_for(site, "assets", hash=True, compress=False))
    assert report.published
    assert all(not e.get("encodings") for e in manifest(root)["files"].values())
