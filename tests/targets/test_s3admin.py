"""``corral clean`` and ``corral check`` for an s3:// target, against the real moto_server:
from the bucket alone (no local build needed), pruning only what corral wrote."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest

from corral.cli import main
from corral.targets.location import build_dir
from corral.targets.s3admin import check, clean
from tests.targets.conftest import BUCKET
from tests.targets.faultproxy import FaultProxy
from tests.targets.helpers import (
    PREFIX,
    TARGET,
    body,
    check_manifest_objects,
    config_for,
    keys,
    make_project,
    run,
)


def _releases(tmp_path: Path, endpoint: str, count: int) -> tuple[Path, list[str]]:
    """``count`` releases with keep unset (nothing pruned); the hashed base.css of each."""
    source = make_project(tmp_path)
    config = config_for(source, endpoint, keep=None)
    hashed = []
    for n in range(count):
        (source / "css/base.css").write_text(f"html {{ color: #{n}{n}{n}; }}\n")
        run(config)
        manifest = json.loads((build_dir(TARGET) / "root/staticfiles.json").read_bytes())
        hashed.append(manifest["paths"]["css/base.css"])
    return source, hashed


def _pyproject(tmp_path: Path, endpoint: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text(
        f'[tool.corral]\ntarget = "{TARGET}"\nendpoint_url = "{endpoint}"\nsources = ["assets"]\n'
    )
    return path


def test_clean_prunes_old_releases_from_the_bucket_alone(
    tmp_path: Path,
    s3: Any,
    proxy: FaultProxy,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source, hashed = _releases(tmp_path, proxy.url, 3)
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/uploads/user.png", Body=b"not corral's")
    assert {f"{PREFIX}/{h}" for h in hashed} <= keys(s3)
    home = os.environ["XDG_CACHE_HOME"]
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "elsewhere"))  # no build, no state
    pyproject = _pyproject(tmp_path, proxy.url)

    proxy.clear()
    assert main(["clean", "--config", str(pyproject), "--keep", "1", "-n", "-v"]) == 0
    out = capsys.readouterr().out
    assert re.search(rf"Would delete \d+ file\(s\) in {TARGET}; keeping release\(s\) 2, 3", out)
    assert hashed[0] in out and hashed[1] not in out and hashed[2] not in out
    assert proxy.count("PUT") == proxy.count("POST") == 0  # a dry run writes nothing

    assert main(["clean", "--config", str(pyproject), "--keep", "0", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["kept_releases"] == [3] and report["dropped_releases"] == [1, 2]
    present = keys(s3)
    assert f"{PREFIX}/{hashed[0]}" not in present and f"{PREFIX}/{hashed[1]}" not in present
    assert f"{PREFIX}/{hashed[2]}" in present
    assert f"{PREFIX}/uploads/user.png" in present  # never corral's
    assert f"{PREFIX}/.corral/lease.json" not in present  # released
    assert check_manifest_objects(s3) > 0
    # the state knows: the next publish (on the machine that built) changes nothing
    monkeypatch.setenv("XDG_CACHE_HOME", home)
    proxy.clear()
    again = run(config_for(source, proxy.url, keep=None))
    assert not again.upload and not again.published

    assert main(["clean", "--config", str(pyproject), "--keep", "0", "--force"]) == 0
    assert f"{PREFIX}/uploads/user.png" not in keys(s3)
    assert check_manifest_objects(s3) > 0


def test_clean_waits_for_no_one_while_a_run_holds_the_lease(
    tmp_path: Path, s3: Any, proxy: FaultProxy
) -> None:
    _, hashed = _releases(tmp_path, proxy.url, 2)
    lease = {"token": "x", "host": "build-9", "pid": 99, "expires": time.time() + 300}
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/.corral/lease.json", Body=json.dumps(lease))
    config = config_for(tmp_path / "assets", proxy.url)
    with pytest.raises(Exception, match="build-9"):
        clean(config, keep=0)
    assert f"{PREFIX}/{hashed[0]}" in keys(s3)  # nothing deleted


def test_check_compares_the_state_and_the_manifests_with_the_bucket(
    tmp_path: Path, s3: Any, proxy: FaultProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    source = make_project(tmp_path)
    config = config_for(source, proxy.url)
    run(config)
    pyproject = _pyproject(tmp_path, proxy.url)
    assert main(["check", "--config", str(pyproject)]) == 0
    assert "No problems found." in capsys.readouterr().out
    assert check(config, deep=True).ok

    manifest = json.loads(body(s3, "staticfiles.json"))["paths"]
    gone, replaced = manifest["css/app.css"], manifest["js/app.js"]
    s3.delete_object(Bucket=BUCKET, Key=f"{PREFIX}/{gone}")
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/{replaced}", Body=b"tampered")
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/uploads/user.png", Body=b"someone's")
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/.corral/lease.json", Body=b"{}")
    result = check(config, deep=True)
    codes = {(p.code, (p.path or "").rpartition(f"{PREFIX}/")[2]) for p in result.problems}
    assert ("missing-object", gone) in codes  # from the state and from the manifests
    assert ("changed-object", replaced) in codes and ("corrupt-object", replaced) in codes
    assert {w.code for w in result.warnings} >= {"not-owned", "lease-held"}
    assert main(["check", "--config", str(pyproject)]) == 1
    err = capsys.readouterr().err
    assert "not in the bucket" in err and "hint:" in err


def test_check_reports_an_unreachable_bucket_as_a_problem(
    tmp_path: Path, s3: Any, proxy: FaultProxy
) -> None:
    config = config_for(make_project(tmp_path), proxy.url)
    bad = config.with_overrides(target="s3://no-such-bucket/static")
    result = check(bad)
    assert [p.code for p in result.problems] == ["remote"]
    assert "does not exist" in result.problems[0].message


def test_check_reads_the_django_manifest_under_its_configured_name(
    tmp_path: Path, s3: Any, proxy: FaultProxy
) -> None:
    config = config_for(make_project(tmp_path), proxy.url).with_overrides(
        manifest_name="assets-manifest.json"
    )
    run(config)
    present = keys(s3)
    assert f"{PREFIX}/assets-manifest.json" in present
    assert f"{PREFIX}/staticfiles.json" not in present
    assert check(config).ok

    manifest = json.loads(body(s3, "assets-manifest.json"))["paths"]
    gone = manifest["css/app.css"]
    s3.delete_object(Bucket=BUCKET, Key=f"{PREFIX}/{gone}")
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/assets-manifest.json", Body=b"not json")
    messages = {p.message for p in check(config).problems}
    assert "assets-manifest.json in the bucket is not a manifest corral can read" in messages

    s3.put_object(
        Bucket=BUCKET, Key=f"{PREFIX}/assets-manifest.json", Body=json.dumps({"paths": manifest})
    )
    messages = {p.message for p in check(config).problems}
    assert f"assets-manifest.json names {gone}, which is not in the bucket" in messages
