"""Publishing to SeaweedFS (``weed mini``), a real S3-compatible server that — unlike moto —
checks signatures, keys and permissions: corral's own client signs correctly, and wrong
credentials or a missing permission stop the run with the setting to fix, before anything
is uploaded or deleted."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from corral.cli import main
from corral.config import Config, load_config
from corral.errors import TargetError
from corral.targets.s3 import publish
from tests.targets.conftest import WEED_READER, WEED_WRITER, Seaweed
from tests.targets.faultproxy import FaultProxy, is_list
from tests.targets.helpers import HASHED, make_project


def _config(source: Path, weed: Seaweed, endpoint: str | None = None, **s3: Any) -> Config:
    return load_config(
        None,
        cwd=source.parent,
        overrides={
            "target": f"s3://{weed.bucket}/static",
            "sources": [str(source)],
            "endpoint_url": endpoint or weed.url,
            "keep": 1,
            "s3": {"concurrency": 4, "max_attempts": 2, **s3},
        },
    )


def _objects(weed: Seaweed) -> dict[str, str]:
    """Every object of the bucket and the sha256 of its bytes."""
    found: dict[str, str] = {}
    pages = weed.client.get_paginator("list_objects_v2").paginate(Bucket=weed.bucket)
    for page in pages:
        for item in page.get("Contents", ()):
            data = weed.client.get_object(Bucket=weed.bucket, Key=item["Key"])["Body"].read()
            found[item["Key"]] = hashlib.sha256(data).hexdigest()
    return found


def test_corrals_own_client_publishes_signed_requests_in_parts_and_odd_keys(
    tmp_path: Path, seaweed: Seaweed
) -> None:
    big = os.urandom(6 * 1024 * 1024 + 3)
    source = make_project(
        tmp_path,
        {"media/big file+1.bin": big, "css/a b.css": "a { color: red; }\n" * 50, "x.txt": "x"},
    )
    config = _config(
        source, seaweed, multipart_threshold=5 * 1024**2, part_size=5 * 1024**2, overlap=True
    )
    report = publish(config)
    assert report.published and report.release == 1
    assert report.early and all(HASHED.search(k) for k in report.upload[: report.early])
    stored = _objects(seaweed)
    assert stored["static/media/big file+1.bin"] == hashlib.sha256(big).hexdigest()
    head = seaweed.client.head_object(Bucket=seaweed.bucket, Key="static/css/a b.css")
    assert head["ContentType"] == "text/css; charset=utf-8"
    with FaultProxy(seaweed.url) as proxy:  # the proxy passes the signed Host header on
        again = publish(_config(source, seaweed, proxy.url))
        assert not again.upload and not again.published
        assert proxy.count("PUT") == 0
        assert len([s for s in proxy.log if not is_list(s.method, s.path, s.query)]) == 1


@pytest.mark.parametrize(
    ("variable", "value", "code"),
    [
        ("AWS_SECRET_ACCESS_KEY", "not-the-secret", "SignatureDoesNotMatch"),
        ("AWS_ACCESS_KEY_ID", "NOSUCHKEY", "InvalidAccessKeyId"),
    ],
)
@pytest.mark.parametrize("client", ["auto", "botocore"])
def test_wrong_credentials_are_a_clear_error_and_nothing_changes(
    tmp_path: Path,
    seaweed: Seaweed,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
    code: str,
    client: str,
) -> None:
    source = make_project(tmp_path)
    publish(_config(source, seaweed, client=client))
    (source / "robots.txt").write_text("User-agent: changed\n")
    before = _objects(seaweed)
    monkeypatch.setenv(variable, value)
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.corral]\ntarget = "s3://{seaweed.bucket}/static"\n'
        f'endpoint_url = "{seaweed.url}"\nsources = ["assets"]\n'
        f's3 = {{ client = "{client}", max_attempts = 2 }}\n'
    )
    assert main(["collect", "--config", str(tmp_path / "pyproject.toml")]) == 1
    err = capsys.readouterr().err
    assert f"refused the credentials ({code})" in err and variable in err
    assert "Traceback" not in err
    assert _objects(seaweed) == before  # nothing uploaded, nothing deleted


@pytest.mark.parametrize(
    "changed",
    [
        "robots.txt",  # an unhashed name: uploaded after the build
        "css/base.css",  # new hashed names and variants: uploaded while the build compresses
    ],
)
def test_credentials_that_may_only_read_fail_before_anything_is_written(
    tmp_path: Path, seaweed: Seaweed, monkeypatch: pytest.MonkeyPatch, changed: str
) -> None:
    source = make_project(tmp_path)
    publish(_config(source, seaweed))
    (source / changed).write_text((source / changed).read_text() + "\n/* changed */\n")
    before = _objects(seaweed)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", WEED_READER[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", WEED_READER[1])
    config = _config(source, seaweed)
    with pytest.raises(TargetError) as caught:
        publish(config)
    assert "denied permission to delete" in caught.value.message
    assert "s3:DeleteObject" in (caught.value.hint or "")
    assert _objects(seaweed) == before
    assert publish(config, dry_run=True).upload  # reading is allowed: the plan works


def test_credentials_that_may_not_list_fail_before_anything_is_written(
    tmp_path: Path, seaweed: Seaweed, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = make_project(tmp_path)
    publish(_config(source, seaweed))
    (source / "robots.txt").write_text("User-agent: changed\n")
    before = _objects(seaweed)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", WEED_WRITER[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", WEED_WRITER[1])
    with pytest.raises(TargetError) as caught:
        publish(_config(source, seaweed))
    assert "denied permission to list" in caught.value.message
    assert "s3:ListBucket" in (caught.value.hint or "")
    assert _objects(seaweed) == before


def test_a_missing_bucket_names_the_target(tmp_path: Path, seaweed: Seaweed) -> None:
    source = make_project(tmp_path)
    config = load_config(
        None,
        cwd=tmp_path,
        overrides={
            "target": "s3://no-such-bucket-here/static",
            "sources": [str(source)],
            "endpoint_url": seaweed.url,
        },
    )
    with pytest.raises(TargetError) as caught:
        publish(config)
    assert "'no-such-bucket-here' does not exist" in caught.value.message
    assert "'target'" in (caught.value.hint or "")
