"""Publishing to a real S3 server (moto_server over HTTP), through the counting proxy."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import brotli
import pytest

from corral.cli import main
from corral.errors import BuildError, ConfigError, LockError, TargetError
from corral.targets.location import build_dir
from corral.targets.remote import STATE_KEY
from tests.targets.conftest import BUCKET
from tests.targets.faultproxy import Fault, FaultProxy, is_list
from tests.targets.helpers import (
    HASHED,
    PREFIX,
    TARGET,
    body,
    check_manifest_objects,
    config_for,
    get,
    keys,
    make_project,
    run,
)


def _manifest(client: Any) -> dict[str, Any]:
    return json.loads(body(client, "corral-manifest.json"))["files"]  # type: ignore[no-any-return]


def test_cold_publish_uploads_every_object_with_its_headers(
    tmp_path: Path, s3: Any, proxy: FaultProxy
) -> None:
    report = run(config_for(make_project(tmp_path), proxy.url))
    assert report.published and report.release == 1 and not report.unchanged
    files = _manifest(s3)
    app = files["css/app.css"]
    hashed = get(s3, app["hashed"])
    assert hashed["ContentType"] == "text/css; charset=utf-8"
    assert hashed["CacheControl"] == "public, max-age=31536000, immutable"
    assert "ContentEncoding" not in hashed
    assert hashed["Metadata"]["sha256"] == app["sha256"]
    plain = get(s3, "css/app.css")
    assert plain["CacheControl"] == "public, max-age=60"
    br = get(s3, app["encodings"]["br"]["path"])
    assert br["ContentEncoding"] == "br"
    assert br["ContentType"] == "text/css; charset=utf-8"
    assert br["CacheControl"] == "public, max-age=31536000, immutable"
    assert get(s3, "img/logo.png")["ContentType"] == "image/png"
    assert get(s3, files["js/app.js"]["hashed"])["ContentType"].startswith("text/javascript")
    assert get(s3, "staticfiles.json")["CacheControl"] == "public, max-age=60"
    # the references were rewritten to hashed names, in the bucket too
    assert files["css/base.css"]["hashed"].split("/")[-1].encode() in body(s3, app["hashed"])
    assert check_manifest_objects(s3) > len(files)
    assert f"{PREFIX}/{STATE_KEY}" in keys(s3, f"{PREFIX}/.corral/")
    assert f"{PREFIX}/.corral/lease.json" not in keys(s3)  # released


def test_upload_order_assets_then_plain_names_then_manifests_then_state(
    tmp_path: Path, s3: Any, proxy: FaultProxy
) -> None:
    run(config_for(make_project(tmp_path), proxy.url))
    files = _manifest(s3)
    hashed = {f"{PREFIX}/{e['hashed']}" for e in files.values()}
    hashed |= {f"{PREFIX}/{v['path']}" for e in files.values() for v in e["encodings"].values()}
    puts = [s.key for s in proxy.log if s.method == "PUT"]
    rank = []
    for key in puts:
        if key.endswith(STATE_KEY) or key.endswith(".corral/lease.json"):
            continue
        if key.endswith(("/staticfiles.json", "/corral-manifest.json")):
            rank.append(2)
        else:
            rank.append(0 if key in hashed else 1)
    assert rank == sorted(rank) and set(rank) == {0, 1, 2}
    last_manifest = max(i for i, k in enumerate(puts) if k.endswith("corral-manifest.json"))
    assert puts[-1].endswith(STATE_KEY) and len(puts) - 1 > last_manifest


def test_no_change_run_is_one_conditional_get_and_writes_nothing(
    tmp_path: Path, s3: Any, proxy: FaultProxy
) -> None:
    config = config_for(make_project(tmp_path), proxy.url)
    first = run(config)
    proxy.clear()
    report = run(config)
    assert not report.upload and not report.published and not report.pruned
    assert len(report.unchanged) == len(first.upload)
    # the state is unchanged since this machine wrote it (304) and this machine LISTed the
    # prefix less than s3.list_every ago: the state is trusted, nothing else is asked
    assert [(s.method, s.key, s.status) for s in proxy.log] == [
        ("GET", f"{PREFIX}/{STATE_KEY}", 304)
    ]


def test_with_list_every_0_a_no_change_run_lists_and_repairs_a_deleted_object(
    tmp_path: Path, s3: Any, proxy: FaultProxy
) -> None:
    config = config_for(make_project(tmp_path), proxy.url, list_every=0)
    run(config)
    hashed = _manifest(s3)["css/base.css"]["hashed"]
    proxy.clear()
    report = run(config)
    assert not report.upload and not report.published
    other = [s for s in proxy.log if not is_list(s.method, s.path, s.query)]
    assert any(is_list(s.method, s.path, s.query) for s in proxy.log)
    # the contract: at most 3 requests besides the LIST; in practice one GET of the state
    # (a retry on a loaded machine may add one)
    assert len(other) <= 3 and {s.key for s in other} == {f"{PREFIX}/{STATE_KEY}"}, other
    assert proxy.count("PUT") == proxy.count("POST") == proxy.count("DELETE") == 0
    s3.delete_object(Bucket=BUCKET, Key=f"{PREFIX}/{hashed}")  # by hand, behind corral's back
    repaired = run(config)
    assert hashed in repaired.upload and check_manifest_objects(s3) > 0


def test_a_trusted_state_is_checked_by_a_list_once_list_every_has_passed(
    tmp_path: Path, s3: Any, proxy: FaultProxy
) -> None:
    config = config_for(make_project(tmp_path), proxy.url)
    run(config)
    hashed = _manifest(s3)["css/base.css"]["hashed"]
    s3.delete_object(Bucket=BUCKET, Key=f"{PREFIX}/{hashed}")
    assert not run(config).upload  # trusted: within list_every of the last LIST
    listed_at = build_dir(TARGET) / "listed-at"
    old = time.time() - 86400 - 5
    os.utime(listed_at, (old, old))
    assert hashed in run(config).upload  # a day later: LISTed, found missing, uploaded
    assert check_manifest_objects(s3) > 0


def test_no_change_from_another_machine_reads_the_state_once(
    tmp_path: Path, s3: Any, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = config_for(make_project(tmp_path), proxy.url)
    run(config)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "other-machine"))
    proxy.clear()
    report = run(config_for(tmp_path / "assets", proxy.url))
    assert not report.upload and not report.published
    other = [s for s in proxy.log if not is_list(s.method, s.path, s.query)]
    assert len(other) <= 3 and {s.key for s in other} == {f"{PREFIX}/{STATE_KEY}"}, other
    assert 200 in [s.status for s in other]  # no cached copy here: the state is read whole


def test_a_changed_file_uploads_only_what_changed(
    tmp_path: Path, s3: Any, proxy: FaultProxy
) -> None:
    source = make_project(tmp_path)
    config = config_for(source, proxy.url)
    run(config)
    before = _manifest(s3)
    (source / "css/base.css").write_text("html { color: #000; }\n")
    proxy.clear()
    report = run(config)
    assert report.release == 2
    uploaded = set(report.upload)
    # base.css changed, so app.css (which imports it) got a new hashed name too
    after = _manifest(s3)
    assert after["css/base.css"]["hashed"] != before["css/base.css"]["hashed"]
    assert after["css/app.css"]["hashed"] in uploaded
    assert "css/base.css" in uploaded and "css/app.css" not in uploaded
    assert after["js/app.js"]["hashed"] not in uploaded and "img/logo.png" not in uploaded
    assert {"staticfiles.json", "corral-manifest.json"} <= uploaded
    assert check_manifest_objects(s3) > 0
    # the previous release's hashed objects stay (kept releases)
    assert f"{PREFIX}/{before['css/base.css']['hashed']}" in keys(s3)


def test_retention_prunes_only_what_corral_wrote_and_no_kept_release_lists(
    tmp_path: Path, s3: Any, proxy: FaultProxy
) -> None:
    source = make_project(tmp_path)
    config = config_for(source, proxy.url, keep=1)
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/uploads/user.png", Body=b"not corral's")
    run(config)
    first = _manifest(s3)["css/base.css"]["hashed"]
    for n in range(2, 4):
        (source / "css/base.css").write_text(f"html {{ color: #{n}{n}{n}; }}\n")
        report = run(config)
    second = f"{PREFIX}/" + _manifest(s3)["css/base.css"]["hashed"]
    present = keys(s3)
    assert f"{PREFIX}/{first}" not in present  # release 1 is no longer kept
    assert any(p.endswith(first) for p in report.pruned) or f"{PREFIX}/{first}" not in present
    assert second in present
    assert f"{PREFIX}/uploads/user.png" in present  # never corral's, never deleted
    assert any(s.method == "POST" and "delete" in s.query for s in proxy.log)
    # --clear keeps only the current release, still not the foreign object
    run(config, clear=True)
    present = keys(s3)
    assert f"{PREFIX}/uploads/user.png" in present
    assert check_manifest_objects(s3) > 0
    # --clear --force deletes it as well
    run(config, clear=True, force=True)
    assert f"{PREFIX}/uploads/user.png" not in keys(s3)
    assert check_manifest_objects(s3) > 0


def test_an_object_corral_did_not_write_in_the_way_is_an_error_unless_force(
    tmp_path: Path, s3: Any, proxy: FaultProxy
) -> None:
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/robots.txt", Body=b"someone else's")
    config = config_for(make_project(tmp_path), proxy.url)
    with pytest.raises(BuildError) as caught:
        run(config)
    assert caught.value.problems[0].code == "not-owned"
    assert "--force" in (caught.value.problems[0].hint or "")
    assert proxy.count("PUT") == 0
    assert body(s3, "robots.txt") == b"someone else's"
    run(config, force=True)
    assert body(s3, "robots.txt") == b"User-agent: *\n"


def test_dry_run_plans_and_writes_nothing(tmp_path: Path, s3: Any, proxy: FaultProxy) -> None:
    source = make_project(tmp_path)
    config = config_for(source, proxy.url)
    plan = run(config, dry_run=True)
    assert plan.dry_run and plan.upload and not plan.unchanged
    assert proxy.count("PUT") == 0 and keys(s3) == set()
    real = run(config)
    assert sorted(real.upload) == sorted(plan.upload)
    (source / "robots.txt").write_text("User-agent: corral\n")
    proxy.clear()
    plan = run(config, dry_run=True)
    assert plan.upload == ["robots.txt", "staticfiles.json", "corral-manifest.json"] or (
        "robots.txt" in plan.upload and len(plan.upload) < len(real.upload)
    )
    assert proxy.count("PUT") == 0


def test_a_second_run_on_the_same_prefix_is_refused(
    tmp_path: Path, s3: Any, proxy: FaultProxy
) -> None:
    config = config_for(make_project(tmp_path), proxy.url)
    lease = {"token": "x", "host": "build-7", "pid": 4242, "expires": time.time() + 300}
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/.corral/lease.json", Body=json.dumps(lease))
    with pytest.raises(LockError) as caught:
        run(config)
    assert "build-7" in caught.value.message and caught.value.holder_pid == 4242
    assert "lease" in (caught.value.hint or "")
    assert [s.key for s in proxy.log if s.method == "PUT"] == [f"{PREFIX}/.corral/lease.json"]
    # an expired lease (its run was killed) is replaced
    lease["expires"] = time.time() - 1
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/.corral/lease.json", Body=json.dumps(lease))
    assert run(config).published


def test_large_files_go_up_in_parts_streamed(tmp_path: Path, s3: Any, proxy: FaultProxy) -> None:
    big = os.urandom(11 * 1024 * 1024 + 7)
    source = make_project(tmp_path, {"media/big.mp4": big, "a.css": "a{}"})
    config = config_for(
        source, proxy.url, multipart_threshold=5 * 1024 * 1024, part_size=5 * 1024 * 1024
    )
    run(config)
    assert body(s3, "media/big.mp4") == big
    parts = [s for s in proxy.log if s.method == "PUT" and "uploadId" in s.query]
    assert len(parts) == 2 * 3  # original + hashed copy, three parts each
    proxy.clear()
    assert not run(config).upload  # a multipart ETag is fine: it is compared, never parsed


def test_one_encoding_in_place(tmp_path: Path, s3: Any, proxy: FaultProxy) -> None:
    config = config_for(make_project(tmp_path), proxy.url, in_place="br")
    run(config)
    files = _manifest(s3)
    hashed = get(s3, files["css/app.css"]["hashed"])
    assert hashed["ContentEncoding"] == "br"
    original = (tmp_path / "assets/css/app.css").read_bytes()
    assert brotli.decompress(hashed["Body"].read()).startswith(b"@import url(")
    assert brotli.decompress(body(s3, "css/app.css")) == original
    assert not [k for k in keys(s3) if k.endswith((".br", ".gz", ".zst"))]
    assert "ContentEncoding" not in get(s3, "img/logo.png")  # no variant: as is


def test_variants_default_to_br_and_gzip_and_zstd_is_opt_in(
    tmp_path: Path, s3: Any, proxy: FaultProxy
) -> None:
    source = make_project(tmp_path)
    run(config_for(source, proxy.url))
    files = _manifest(s3)
    assert set(files["css/app.css"]["encodings"]) == {"br", "gzip"}  # none made for zstd
    present = keys(s3)
    assert f"{PREFIX}/{files['css/app.css']['hashed']}.gz" in present
    assert f"{PREFIX}/css/app.css.br" in present  # unhashed names keep their variants
    assert not [k for k in present if k.endswith(".zst")]

    report = run(config_for(source, proxy.url, encodings=["br", "gzip", "zstd"]))
    zst = [k for k in report.upload if k.endswith(".zst")]
    assert f"{files['css/app.css']['hashed']}.zst" in zst and "css/app.css.zst" in zst
    assert get(s3, files["css/app.css"]["hashed"] + ".zst")["ContentEncoding"] == "zstd"
    assert check_manifest_objects(s3) > len(files)

    report = run(config_for(source, proxy.url, encodings=["gzip"]))
    assert set(_manifest(s3)["css/app.css"]["encodings"]) == {"gzip"}
    assert check_manifest_objects(s3) > len(files)

    run(config_for(source, proxy.url, encodings=[]))  # no variants at all
    assert not _manifest(s3)["css/app.css"].get("encodings")
    assert check_manifest_objects(s3) == 2 * len(files)  # each file in both manifests, no variant


def test_bad_encodings_are_a_configuration_error(tmp_path: Path) -> None:
    for bad in ("br", ["br", "lz4"]):
        with pytest.raises(ConfigError, match=r"s3\.encodings"):
            config_for(make_project(tmp_path), None, encodings=bad).s3_options()


def test_cli_target_from_pyproject_without_root(
    tmp_path: Path, s3: Any, proxy: FaultProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    make_project(tmp_path)
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.corral]\ntarget = "{TARGET}"\nendpoint_url = "{proxy.url}"\nsources = ["assets"]\n'
    )
    assert main(["collect", "--config", str(tmp_path / "pyproject.toml")]) == 0
    out = capsys.readouterr().out
    assert f"Published to {TARGET}" in out and "-> release 1" in out
    assert main(["collect", "--config", str(tmp_path / "pyproject.toml"), "-n"]) == 0
    assert "Dry run, nothing written" in capsys.readouterr().out
    assert not (tmp_path / "static_root").exists()


def test_cli_target_flag_and_endpoint_from_the_environment(
    tmp_path: Path,
    s3: Any,
    proxy: FaultProxy,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = make_project(tmp_path)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.url)
    monkeypatch.chdir(tmp_path)
    code = main(["collect", "--target", TARGET, "--source", str(source), "--json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["published"] and data["counts"]["upload"] > 0
    assert proxy.count("PUT") > 0  # it went through the endpoint the environment named


def test_a_missing_bucket_is_a_clear_error_before_anything_is_written(
    tmp_path: Path, s3: Any, proxy: FaultProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    source = make_project(tmp_path)
    args = ["collect", "--target", "s3://no-such-bucket/static", "--source", str(source)]
    with pytest.MonkeyPatch.context() as m:
        m.setenv("AWS_ENDPOINT_URL", proxy.url)
        assert main(args) == 1
    err = capsys.readouterr().err
    assert "bucket 'no-such-bucket' does not exist" in err and "hint:" in err
    assert proxy.count("PUT") == 0


def test_an_endpoint_that_is_not_s3_is_a_clear_error(
    tmp_path: Path, s3: Any, proxy: FaultProxy
) -> None:
    proxy.inject(_html_everywhere())
    with pytest.raises(TargetError) as caught:
        run(config_for(make_project(tmp_path), proxy.url))
    assert "endpoint_url" in (caught.value.hint or "")
    assert proxy.count("PUT") == 0


def _html_everywhere() -> Fault:
    return Fault("200:<html><body>It works!</body></html>", times=0)


def test_without_boto3_static_keys_still_publish(
    tmp_path: Path, s3: Any, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # corral's own client needs no boto3
    report = run(config_for(make_project(tmp_path), proxy.url))
    assert report.published and check_manifest_objects(s3) > 0


def test_without_boto3_a_profile_needing_it_names_the_extra(
    tmp_path: Path, aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    Path(os.environ["AWS_CONFIG_FILE"]).write_text(
        "[profile deploy]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = base\n"
    )
    monkeypatch.setenv("AWS_PROFILE", "deploy")
    with pytest.raises(ConfigError) as caught:
        run(config_for(make_project(tmp_path), "http://127.0.0.1:9"))
    assert "corral[s3]" in (caught.value.hint or "")
    assert "role_arn" in caught.value.message


@pytest.mark.parametrize(
    ("fault", "match", "expected"),
    [
        ("403:InvalidAccessKeyId", lambda m, p, q: True, "AWS_ACCESS_KEY_ID"),
        ("403:SignatureDoesNotMatch", lambda m, p, q: True, "AWS_SECRET_ACCESS_KEY"),
        ("403:AccessDenied", is_list, "s3:ListBucket"),
        ("403:AccessDenied", lambda m, p, q: m == "POST" and "delete" in q, "s3:DeleteObject"),
        ("403:AccessDenied", lambda m, p, q: m == "PUT", "s3:PutObject"),
        ("301:PermanentRedirect", is_list, "AWS_REGION"),  # the bucket is in another region
        ("400:AuthorizationHeaderMalformed", is_list, "AWS_REGION"),
    ],
)
def test_refused_credentials_or_permissions_fail_before_anything_is_uploaded(
    tmp_path: Path, s3: Any, proxy: FaultProxy, fault: str, match: Any, expected: str
) -> None:
    source = make_project(tmp_path)
    config = config_for(source, proxy.url, keep=0)
    run(config)
    before = {k: body(s3, k.partition("/")[2]) for k in keys(s3)}
    (source / "robots.txt").write_text("User-agent: changed\n")
    proxy.clear()
    proxy.inject(Fault(fault, match, times=0))
    with pytest.raises(TargetError) as caught:
        run(config)
    assert expected in (caught.value.hint or "") + caught.value.message
    assert not [
        s for s in proxy.log if s.method == "PUT" and s.status == 200 and "/.corral/" not in s.path
    ]  # no object was uploaded
    assert {k: body(s3, k.partition("/")[2]) for k in keys(s3)} == before  # nor deleted


def test_publish_without_a_target_is_a_configuration_error(tmp_path: Path) -> None:
    from corral import Config, ConfigError  # noqa: PLC0415
    from corral.targets.s3 import publish  # noqa: PLC0415

    with pytest.raises(ConfigError) as caught:
        publish(Config(root=tmp_path / "root", sources=()))
    assert caught.value.key == "target" and "--target" in (caught.value.hint or "")


def test_hashed_names_and_their_variants_go_up_while_the_build_compresses(
    tmp_path: Path, s3: Any, proxy: FaultProxy
) -> None:
    report = run(config_for(make_project(tmp_path), proxy.url, overlap=True))
    early = report.upload[: report.early]
    assert early and all(HASHED.search(k) for k in early), early
    assert any(k.endswith(".br") for k in early) and any(k.endswith(".gz") for k in early)
    assert report.build is not None and "settle" in report.build.timings
    # The order still holds: claims in the state, hashed names and their variants, then the
    # other names, then the manifests (corral's, then Django's).
    puts = [s.key for s in proxy.log if s.method == "PUT" and "/.corral/lease" not in s.path]
    assert puts[0] == f"{PREFIX}/{STATE_KEY}"
    objects = [k for k in puts if "/.corral/" not in k]
    phase = [
        0
        if HASHED.search(k)
        else 2
        if k.endswith("corral-manifest.json")
        else 3
        if k.endswith("staticfiles.json")
        else 1
        for k in objects
    ]
    assert phase == sorted(phase) and set(phase) == {0, 1, 2, 3}, objects
    assert {f"{PREFIX}/{k}" for k in report.upload} == set(objects)
    assert check_manifest_objects(s3) > 0


def test_by_default_nothing_goes_up_before_the_build_is_complete(
    tmp_path: Path, s3: Any, proxy: FaultProxy
) -> None:
    config = config_for(make_project(tmp_path), proxy.url)
    assert config.s3_options().overlap is False
    report = run(config)
    assert report.published and report.early == 0 and report.upload
    assert check_manifest_objects(s3) > 0


@pytest.mark.parametrize("value", ["yes", 1])
def test_overlap_must_be_true_or_false(tmp_path: Path, value: object) -> None:
    from corral import ConfigError  # noqa: PLC0415

    with pytest.raises(ConfigError) as caught:
        config_for(make_project(tmp_path), None, overlap=value)
    assert "'s3.overlap' must be true or false" in caught.value.message
    assert caught.value.key == "s3"
