"""`corral webserver`: nginx and Caddy configurations made from the manifest alone (they
are run for real by test_conformance.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from corral.cli import main
from corral.serve.webserver import caddy_config, nginx_config
from tests.serve.conftest import Site

IMMUTABLE = "public, max-age=31536000, immutable"


def test_nginx_marks_exactly_the_manifests_hashed_files_immutable(site: Site) -> None:
    text = nginx_config(site.root, "/static/", brotli=True)
    immutable = set(re.findall(rf'location = "/static/([^"]+)" {{[^}}]*"{IMMUTABLE}"', text))
    assert immutable == set(site.manifest.by_hashed)
    short = set(re.findall(r'location = "/static/([^"]+)" {[^}]*"public, max-age=60"', text))
    assert short == set(site.manifest.files)
    assert "brotli_static on;" in text
    assert "listen" not in text and "http {" not in text  # a snippet for a server block
    assert ".corral" not in text and "staticfiles.json" not in text


def test_nginx_without_the_brotli_module_says_so(site: Site) -> None:
    text = nginx_config(site.root, "/static/", brotli=False, listen="127.0.0.1:1")
    assert "brotli_static" not in text.replace("# brotli: the brotli_static", "")
    assert "load_module" not in text
    assert "zstd_static module" in text  # stated, never silently missing


def test_caddy_lists_the_same_files(site: Site) -> None:
    text = caddy_config(site.root, "/static/", max_age=30)
    hashed_line = next(line for line in text.splitlines() if "@corral_hashed path" in line)
    assert set(re.findall(r'"/static/([^"]+)"', hashed_line)) == set(site.manifest.by_hashed)
    assert 'Cache-Control "public, max-age=30"' in text
    assert "precompressed zstd br gzip" in text


def test_the_command_prints_a_complete_file_with_listen(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["webserver", "nginx", "--root", str(site.root), "--listen", "127.0.0.1:9"]) == 0
    out = capsys.readouterr().out
    assert "listen 127.0.0.1:9;" in out and out.count("{") == out.count("}")
    assert main(["webserver", "caddy", "--root", str(site.root), "--url", "/assets/"]) == 0
    assert '"/assets/' + site.manifest.files["img/dot.png"].hashed + '"' in capsys.readouterr().out


def test_the_command_without_a_manifest_says_what_to_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["webserver", "nginx", "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert str(tmp_path / "corral-manifest.json") in err
    assert "corral collect" in err
    assert "Traceback" not in err
