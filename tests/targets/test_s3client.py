"""Which client a publish uses: corral's own for static keys, botocore for the rest of the
AWS chain (here a real ``credential_process``) or when ``s3.client = "botocore"`` — both
against the real moto_server, with the same requests on a no-change run."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from corral.targets.location import S3Location, S3Options
from corral.targets.s3client import Boto3Store, open_store
from corral.targets.s3http import HttpStore
from tests.targets.faultproxy import FaultProxy, is_list
from tests.targets.helpers import TARGET, check_manifest_objects, config_for, make_project, run

LOCATION = S3Location.parse(TARGET)


def test_static_keys_use_corrals_own_client(aws_env: None) -> None:
    store = open_store(LOCATION, S3Options(endpoint_url="http://127.0.0.1:9"))
    assert isinstance(store, HttpStore)
    store.close()
    forced = open_store(LOCATION, S3Options(endpoint_url="http://127.0.0.1:9", client="botocore"))
    assert isinstance(forced, Boto3Store)
    forced.close()


def _credential_process(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    script = tmp_path / "creds.py"
    script.write_text(
        "import json\n"
        'print(json.dumps({"Version": 1, "AccessKeyId": "proc", "SecretAccessKey": "proc"}))\n'
    )
    Path(os.environ["AWS_CONFIG_FILE"]).write_text(
        f"[profile deploy]\ncredential_process = {sys.executable} {script}\nregion = us-east-1\n"
    )
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_PROFILE", "deploy")


def test_a_credential_process_profile_publishes_through_botocore(
    tmp_path: Path, s3: Any, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    _credential_process(monkeypatch, tmp_path)
    store = open_store(LOCATION, S3Options(endpoint_url=proxy.url))
    assert isinstance(store, Boto3Store)
    store.close()
    config = config_for(make_project(tmp_path), proxy.url)
    assert run(config).published and check_manifest_objects(s3) > 0
    proxy.clear()
    again = run(config)
    assert not again.upload and not again.published
    other = [s for s in proxy.log if not is_list(s.method, s.path, s.query)]
    assert len(other) <= 3 and 304 in [s.status for s in other]


@pytest.mark.parametrize("client", ["auto", "botocore"])
def test_both_clients_write_the_same_objects_and_agree_on_no_change(
    tmp_path: Path, s3: Any, proxy: FaultProxy, client: str
) -> None:
    other = "botocore" if client == "auto" else "auto"
    source = make_project(tmp_path)
    first = run(config_for(source, proxy.url, client=client))
    assert first.published
    proxy.clear()
    second = run(config_for(source, proxy.url, client=other))  # the other client reads it
    assert not second.upload and not second.published
    assert proxy.count("PUT") == 0
    state = s3.get_object(Bucket="corral-test", Key="static/.corral/state.json")
    assert state["ContentType"] == "application/json"
    names = json.loads(
        s3.get_object(Bucket="corral-test", Key="static/staticfiles.json")["Body"].read()
    )
    assert "css/app.css" in names["paths"]


def test_a_profile_with_static_keys_uses_corrals_own_client(
    tmp_path: Path, s3: Any, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    Path(os.environ["AWS_SHARED_CREDENTIALS_FILE"]).write_text(
        "[deploy]\naws_access_key_id = test\naws_secret_access_key = test\n"
    )
    Path(os.environ["AWS_CONFIG_FILE"]).write_text(
        f"[profile deploy]\nregion = us-east-1\nendpoint_url = {proxy.url}\n"
    )
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_PROFILE", "deploy")
    store = open_store(LOCATION, S3Options())
    assert isinstance(store, HttpStore) and store.endpoint == proxy.url
    store.close()
    config = config_for(make_project(tmp_path), None)
    assert run(config).published and check_manifest_objects(s3) > 0
    assert proxy.count("PUT") > 0  # through the profile's endpoint_url
