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
    maps = nginx_config(site.root, "/static/", brotli=True, part="http")
    immutable = set(re.findall(rf'^    "/static/([^"]+)" "{IMMUTABLE}";$', maps, re.M))
    assert immutable == set(site.manifest.by_hashed)
    short = set(re.findall(r'^    "/static/([^"]+)" "public, max-age=60";$', maps, re.M))
    assert short == set(site.manifest.files)
    assert ".corral" not in maps and "staticfiles.json" not in maps
    server = nginx_config(site.root, "/static/", brotli=True, part="server")
    assert "brotli_static on;" in server and "map " not in server
    assert '"text/css; charset=utf-8" css;' in server
    both = nginx_config(site.root, "/static/", brotli=True)
    assert maps.split("\n", 2)[2] in both and server.split("\n", 2)[2] in both
    assert "listen " not in both and "\nhttp {" not in both


def test_nginx_without_the_brotli_module_says_so(site: Site) -> None:
    text = nginx_config(site.root, "/static/", brotli=False, listen="127.0.0.1:1")
    assert "brotli_static" not in text.replace("# brotli: the brotli_static", "")
    assert "load_module" not in text
    assert "zstd_static module" in text  # stated, never silently missing


def test_caddy_lists_the_same_files(site: Site) -> None:
    text = caddy_config(site.root, "/static/", max_age=30)
    hashed = set(re.findall(rf'^\t\t"/static/([^"]+)" "{IMMUTABLE}"', text, re.M))
    assert hashed == set(site.manifest.by_hashed)
    assert '"public, max-age=30" "' in text
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
