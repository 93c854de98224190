"""The AWS settings chain corral reads itself: credentials, region, endpoint, addressing —
and what it leaves to botocore."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.errors import ConfigError
from corral.targets.awschain import Credentials, NeedsBotocore, Resolved, resolve
from corral.targets.location import S3Options


def _resolve(
    tmp_path: Path,
    env: dict[str, str],
    *,
    config: str = "",
    credentials: str = "",
    bucket: str = "my-bucket",
    **options: object,
) -> Resolved:
    (tmp_path / "config").write_text(config)
    (tmp_path / "credentials").write_text(credentials)
    files = {
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
    }
    return resolve(S3Options(**options), bucket, {**files, **env})  # type: ignore[arg-type]


KEYS = {"AWS_ACCESS_KEY_ID": "AKENV", "AWS_SECRET_ACCESS_KEY": "secret-env"}


def test_environment_keys_and_aws_defaults(tmp_path: Path) -> None:
    found = _resolve(tmp_path, {**KEYS, "AWS_SESSION_TOKEN": "tok"})
    assert found.credentials == Credentials("AKENV", "secret-env", "tok")
    assert found.source == "environment"
    assert found.region == "us-east-1" and found.aws
    assert found.endpoint == "https://s3.us-east-1.amazonaws.com"
    assert found.addressing == "virtual"  # AWS, a DNS-compatible bucket


def test_region_order(tmp_path: Path) -> None:
    config = "[default]\nregion = eu-north-1\n"
    assert _resolve(tmp_path, KEYS, config=config).region == "eu-north-1"
    env = {**KEYS, "AWS_DEFAULT_REGION": "eu-west-2"}
    assert _resolve(tmp_path, env, config=config).region == "eu-west-2"
    env["AWS_REGION"] = "ap-south-1"
    assert _resolve(tmp_path, env, config=config).region == "ap-south-1"
    found = _resolve(tmp_path, env, config=config, region="sa-east-1")
    assert found.region == "sa-east-1"
    assert found.endpoint == "https://s3.sa-east-1.amazonaws.com"


def test_endpoint_order(tmp_path: Path) -> None:
    config = "[default]\nendpoint_url = http://from-profile:9000\n"
    assert _resolve(tmp_path, KEYS, config=config).endpoint == "http://from-profile:9000"
    env = {**KEYS, "AWS_ENDPOINT_URL": "http://generic:9000/"}
    assert _resolve(tmp_path, env, config=config).endpoint == "http://generic:9000"
    env["AWS_ENDPOINT_URL_S3"] = "http://s3-only:9000"
    found = _resolve(tmp_path, env, config=config)
    assert found.endpoint == "http://s3-only:9000" and not found.aws
    key = _resolve(tmp_path, env, config=config, endpoint_url="https://key.example")
    assert key.endpoint == "https://key.example"  # the endpoint_url key wins
    ignored = {**KEYS, "AWS_ENDPOINT_URL": "http://x:1", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "1"}
    assert _resolve(tmp_path, ignored, config=config).aws


def test_a_services_section_names_the_s3_endpoint(tmp_path: Path) -> None:
    config = (
        "[profile r2]\nservices = r2-services\nregion = auto\n"
        "aws_access_key_id = AKCONF\naws_secret_access_key = s\n"
        "[services r2-services]\ns3 =\n  endpoint_url = https://acct.r2.cloudflarestorage.com\n"
    )
    found = _resolve(tmp_path, {"AWS_PROFILE": "r2"}, config=config)
    assert found.endpoint == "https://acct.r2.cloudflarestorage.com" and found.region == "auto"
    assert found.credentials.access_key == "AKCONF"
    assert found.source == "profile r2 (config file)"


def test_profile_keys_credentials_file_first(tmp_path: Path) -> None:
    credentials = "[default]\naws_access_key_id = AKDEF\naws_secret_access_key = d\n"
    credentials += "[deploy]\naws_access_key_id = AKFILE\naws_secret_access_key = f\n"
    config = "[profile deploy]\naws_access_key_id = AKCONF\naws_secret_access_key = c\n"
    found = _resolve(tmp_path, {"AWS_PROFILE": "deploy"}, config=config, credentials=credentials)
    assert found.credentials.access_key == "AKFILE"
    assert _resolve(tmp_path, {}, credentials=credentials).credentials.access_key == "AKDEF"
    # the environment's keys win over AWS_PROFILE, but not over a profile named in the s3 table
    env = {**KEYS, "AWS_PROFILE": "deploy"}
    assert _resolve(tmp_path, env, credentials=credentials).credentials.access_key == "AKENV"
    named = _resolve(tmp_path, KEYS, credentials=credentials, profile="deploy")
    assert named.credentials.access_key == "AKFILE"


@pytest.mark.parametrize(
    ("config", "env", "why"),
    [
        ("[profile p]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = b\n", {}, "role_arn"),
        ("[profile p]\nsso_session = corp\nsso_account_id = 1\n", {}, "sso_"),
        ("[profile p]\ncredential_process = /bin/creds\n", {}, "credential_process"),
        ("[profile p]\nregion = eu-west-1\n", {}, "no static credentials"),  # IMDS / container
        ("[profile p]\n", {"AWS_WEB_IDENTITY_TOKEN_FILE": "/t"}, "AWS_WEB_IDENTITY_TOKEN_FILE"),
        ("[profile p]\nuse_fips_endpoint = true\n", {}, "use_fips_endpoint"),
        ("", {"AWS_PROFILE": "missing"}, "not found"),
    ],
)
def test_what_corral_leaves_to_botocore(
    tmp_path: Path, config: str, env: dict[str, str], why: str
) -> None:
    with pytest.raises(NeedsBotocore, match=why):
        _resolve(tmp_path, {"AWS_PROFILE": "p", **env}, config=config)


def test_static_keys_in_the_credentials_file_beat_a_credential_process(tmp_path: Path) -> None:
    config = "[profile p]\ncredential_process = /bin/creds\n"
    credentials = "[p]\naws_access_key_id = AKFILE\naws_secret_access_key = f\n"
    found = _resolve(tmp_path, {"AWS_PROFILE": "p"}, config=config, credentials=credentials)
    assert found.credentials.access_key == "AKFILE"


def test_half_of_the_environment_keys_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        _resolve(tmp_path, {"AWS_ACCESS_KEY_ID": "AK"})
    assert caught.value.key == "AWS_SECRET_ACCESS_KEY"
    assert "AWS_SECRET_ACCESS_KEY" in caught.value.message


@pytest.mark.parametrize(
    ("endpoint", "bucket", "style", "expected"),
    [
        ("http://127.0.0.1:9000", "b-1", "auto", "path"),  # an IP: path, as botocore does
        ("http://localhost:9000", "b-1", "auto", "path"),
        ("https://acct.r2.cloudflarestorage.com", "b-1", "auto", "virtual"),
        ("https://minio.example", "b-1", "path", "path"),
        (None, "dotted.bucket", "auto", "path"),  # dots break the TLS name of a virtual host
        (None, "plain", "virtual", "virtual"),
    ],
)
def test_addressing_style(
    tmp_path: Path, endpoint: str | None, bucket: str, style: str, expected: str
) -> None:
    found = _resolve(tmp_path, KEYS, bucket=bucket, endpoint_url=endpoint, addressing_style=style)
    assert found.addressing == expected


def test_the_profile_s3_section_sets_path_style(tmp_path: Path) -> None:
    config = "[default]\ns3 =\n  addressing_style = path\n"
    found = _resolve(tmp_path, KEYS, config=config, endpoint_url="https://minio.example")
    assert found.addressing == "path"


def test_an_unreadable_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        _resolve(tmp_path, KEYS, config="not a section\n")
    assert "AWS configuration" in caught.value.message
