"""Faults between corral and a real S3 server: after each, the bucket's manifests name only
objects that exist with the right bytes, and the next run completes the job.

The proxy drops connections (before or after the server acted), delays past the read
timeout, or answers 500 / 503 SlowDown, at chosen requests; corral retries with backoff,
and when a fault outlasts ``s3.max_attempts`` the run fails clearly, having deleted
nothing, and the next run resumes without re-sending what made it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from corral.errors import TargetError
from tests.targets.faultproxy import Fault, FaultProxy, is_put, key_is
from tests.targets.helpers import (
    HASHED,
    PREFIX,
    TARGET,
    body,
    check_manifest_objects,
    config_for,
    keys,
    make_project,
    run,
)


def _object_put(method: str, path: str, query: str) -> bool:
    return is_put(method, path, query) and "/.corral/" not in path


def _change(source: Path, n: int) -> None:
    (source / "css/base.css").write_text(f"html {{ color: #{n}{n}{n}; }}\n")
    (source / "js/lib.js").write_text(f"export const x = {n};\n")
    (source / f"new/{n}.txt").parent.mkdir(exist_ok=True)
    (source / f"new/{n}.txt").write_text("x" * 400)


@pytest.mark.parametrize(
    ("action", "nth"),
    [
        ("500:InternalError", 1),
        ("drop", 2),
        ("drop-after", 5),
        ("delay:1.6", 3),
        ("503:SlowDown", 9),  # a manifest or the state
    ],
)
def test_a_transient_fault_is_retried_and_the_release_completes(
    tmp_path: Path, s3: Any, proxy: FaultProxy, action: str, nth: int
) -> None:
    source = make_project(tmp_path)
    config = config_for(source, proxy.url, read_timeout=1.0)
    run(config)
    _change(source, 2)
    proxy.inject(Fault(action, is_put, nth=nth, times=1))
    report = run(config)
    assert report.published and report.release == 2
    assert proxy.shared.faults[0].fired == 1
    assert check_manifest_objects(s3) > 0
    proxy.clear()
    again = run(config)
    assert not again.upload and not again.published


@pytest.mark.parametrize(
    ("where", "nth"),
    [("object", 6), ("manifest", 1), ("state", 2)],
)
def test_a_lasting_fault_fails_clearly_keeps_the_bucket_consistent_and_the_next_run_resumes(
    tmp_path: Path, s3: Any, proxy: FaultProxy, where: str, nth: int
) -> None:
    source = make_project(tmp_path)
    config = config_for(source, proxy.url, max_attempts=2)
    run(config)
    before = check_manifest_objects(s3)
    _change(source, 3)
    planned = len(run(config, dry_run=True).upload)
    match = {
        "object": _object_put,
        "manifest": key_is("/corral-manifest.json"),
        "state": key_is("/.corral/state.json"),
    }[where]
    present = keys(s3)
    proxy.clear()
    proxy.inject(Fault("503:SlowDown", match, nth=nth, times=0))
    with pytest.raises(TargetError) as caught:
        run(config)
    assert "attempts" in caught.value.message and caught.value.hint
    assert present <= keys(s3)  # nothing deleted
    assert check_manifest_objects(s3) >= before  # the old release, or the new one, whole
    proxy.clear()
    report = run(config)
    assert report.published and check_manifest_objects(s3) > 0
    if where == "object" and nth > 1:
        assert len(report.upload) < planned  # what made it is not sent again
    assert not run(config).upload


def _kill_a_run_once(proxy: FaultProxy, source: Path, enough: Callable[[], bool]) -> None:
    """Run ``corral collect`` in a child (uploads slowed down, from ``source``'s parent
    directory, so it reads a project file there) and ``SIGKILL`` it once ``enough()``."""
    proxy.inject(Fault("delay:0.3", _object_put, times=0))
    reached = threading.Event()
    proxy.on_request(lambda seen: reached.set() if enough() else None)
    env = {**os.environ, "AWS_ENDPOINT_URL": proxy.url}
    command = [sys.executable, "-m", "corral", "collect", "--target", TARGET]
    child = subprocess.Popen([*command, "--source", str(source), "-q"], env=env, cwd=source.parent)
    try:
        assert reached.wait(60), "the child never uploaded"
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(30)
    proxy.on_request(None)


def test_a_killed_run_leaves_the_previous_manifest_whole_and_the_next_run_finishes(
    tmp_path: Path, s3: Any, proxy: FaultProxy
) -> None:
    source = make_project(tmp_path)
    config = config_for(source, proxy.url)
    run(config)
    _change(source, 4)
    planned = run(config, dry_run=True).upload
    proxy.clear()
    _kill_a_run_once(
        proxy, source, lambda: sum(_object_put(s.method, s.path, "") for s in proxy.log) >= 4
    )
    assert check_manifest_objects(s3) > 0
    proxy.clear()
    report = run(config, force=False)
    assert report.published and check_manifest_objects(s3) > 0
    assert len(report.upload) < len(planned)  # the hashed objects that made it are adopted


def _made(proxy: FaultProxy) -> set[str]:
    """The object keys the server stored (answered 200) in the proxy's log."""
    return {s.key for s in proxy.log if _object_put(s.method, s.path, s.query) and s.status == 200}


def test_a_lasting_fault_while_the_build_compresses_stops_it_and_the_next_run_resumes(
    tmp_path: Path, s3: Any, proxy: FaultProxy
) -> None:
    source = make_project(tmp_path)
    config = config_for(source, proxy.url, max_attempts=2, concurrency=1, overlap=True)
    run(config)
    built = (config.root / "staticfiles.json").read_bytes()
    before, present = body(s3, "staticfiles.json"), keys(s3)
    _change(source, 5)
    proxy.clear()
    proxy.inject(Fault("503:SlowDown", _object_put, nth=3, times=0))
    with pytest.raises(TargetError) as caught:
        run(config)
    assert "attempts" in caught.value.message and caught.value.hint
    # It failed during the build (which publishes locally only after its early uploads):
    assert (config.root / "staticfiles.json").read_bytes() == built
    tried = [s.key for s in proxy.log if _object_put(s.method, s.path, s.query)]
    assert tried and all(HASHED.search(k) for k in tried)  # only early uploads were tried
    assert present <= keys(s3)  # nothing deleted
    assert body(s3, "staticfiles.json") == before  # the previous manifest, its objects all there
    assert check_manifest_objects(s3) > 0
    made = _made(proxy)
    assert len(made) == 2
    proxy.clear()
    report = run(config)
    assert report.published and check_manifest_objects(s3) > 0
    assert not made & {f"{PREFIX}/{k}" for k in report.upload}  # what made it is not sent again
    assert not run(config).upload


def test_a_run_killed_while_the_build_compresses_leaves_the_previous_manifest_whole(
    tmp_path: Path, s3: Any, proxy: FaultProxy
) -> None:
    source = make_project(tmp_path)
    # the child reads the option from the project file, as a user's run would
    (tmp_path / "pyproject.toml").write_text("[tool.corral]\ns3 = { overlap = true }\n")
    config = config_for(source, proxy.url, overlap=True)
    run(config)
    built = (config.root / "staticfiles.json").read_bytes()
    before = body(s3, "staticfiles.json")
    _change(source, 6)
    proxy.clear()
    _kill_a_run_once(proxy, source, lambda: len(_made(proxy)) >= 3)
    # killed mid-build: the build publishes locally only after its early uploads
    assert (config.root / "staticfiles.json").read_bytes() == built
    assert body(s3, "staticfiles.json") == before and check_manifest_objects(s3) > 0
    made = _made(proxy)
    assert made and all(HASHED.search(k) for k in made)
    proxy.clear()
    report = run(config)
    assert report.published and check_manifest_objects(s3) > 0
    assert not made & {f"{PREFIX}/{k}" for k in report.upload}  # adopted, not sent again


def test_a_build_that_fails_after_early_uploads_deletes_nothing_and_lets_go_of_the_lease(
    tmp_path: Path, s3: Any, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    import corral.compress.engine  # noqa: PLC0415

    source = make_project(tmp_path)
    config = config_for(source, proxy.url, overlap=True)
    run(config)
    before, present = body(s3, "staticfiles.json"), keys(s3)
    _change(source, 7)
    proxy.clear()

    def broken(*args: Any) -> Any:  # the compression fails once an early upload made it
        deadline = time.monotonic() + 30
        while not _made(proxy) and time.monotonic() < deadline:
            time.sleep(0.02)
        raise RuntimeError("the encoder broke")

    with monkeypatch.context() as patch, pytest.raises(RuntimeError, match="encoder broke"):
        patch.setattr(corral.compress.engine, "run_task", broken)
        run(config)
    made = _made(proxy)
    assert made and all(HASHED.search(k) for k in made)
    assert present <= keys(s3)  # nothing deleted
    assert f"{PREFIX}/.corral/lease.json" not in keys(s3)  # let go of: the next run may start
    assert body(s3, "staticfiles.json") == before and check_manifest_objects(s3) > 0
    proxy.clear()
    report = run(config)
    assert report.published and check_manifest_objects(s3) > 0
    assert not made & {f"{PREFIX}/{k}" for k in report.upload}  # what made it is not sent again


def test_a_long_run_renews_its_lease_at_checkpoints(
    tmp_path: Path, s3: Any, proxy: FaultProxy
) -> None:
    source = make_project(tmp_path)
    config = config_for(source, proxy.url, lease_seconds=3, concurrency=1)
    proxy.inject(Fault("delay:0.4", _object_put, times=0))
    report = run(config)
    assert report.published and check_manifest_objects(s3) > 0
    writes = [s for s in proxy.log if s.method == "PUT" and s.path.endswith("/.corral/lease.json")]
    assert len(writes) >= 2, writes  # taken, then renewed before a third of it was left
    assert f"{PREFIX}/.corral/lease.json" not in keys(s3)  # and let go of at the end
