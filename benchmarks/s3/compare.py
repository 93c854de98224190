"""corral's S3 publish against django-storages and django-storages + Collectfasta.

Same corpus (a copy of a Django project), same moto_server, same run; every request each
tool makes is counted by the test suite's proxy (tests/targets/faultproxy.py). Scenarios:
``cold`` (empty bucket, no local build), ``nochange`` (run again), ``touch1pct`` (1% of the
CSS/JS files changed, then run). Each tool has its own bucket; runs alternate tool by tool
within a scenario. Peak RSS comes from GNU time. Usage (wrap in the shared lock)::

    flock /work/bench.lock python benchmarks/s3/compare.py --project examples/site \\
        --json benchmarks/results/DATE-TIME-MACHINE-s3-publish-COMMIT.json

Needs ``pip install -r benchmarks/s3/requirements.txt`` and corral[s3] in this interpreter.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from tests.targets.faultproxy import FaultProxy  # noqa: E402

TOOLS = ("corral", "django-storages", "collectfasta")
SCENARIOS = ("cold", "nochange", "touch1pct")

_SETTINGS = """
from site_project.settings import *  # noqa
INSTALLED_APPS = [a for a in INSTALLED_APPS if a != "corral.contrib.django"]
MIDDLEWARE = [m for m in MIDDLEWARE if "corral" not in m]
if {fasta}:
    INSTALLED_APPS = ["collectfasta", *INSTALLED_APPS]
    COLLECTFASTA_STRATEGY = "collectfasta.strategies.boto3.Boto3ManifestMemoryStrategy"
    COLLECTFASTA_THREADS = 16
STORAGES = {{
    "default": {{"BACKEND": "django.core.files.storage.FileSystemStorage"}},
    "staticfiles": {{"BACKEND": "storages.backends.s3.S3ManifestStaticStorage",
        "OPTIONS": {{"bucket_name": "{bucket}", "location": "static",
                    "endpoint_url": "{endpoint}", "region_name": "us-east-1",
                    "access_key": "test", "secret_key": "test"}}}},
}}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--project", type=Path, default=REPO / "examples/site")
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    tools = args.tools.split(",")
    work = Path(tempfile.mkdtemp(prefix="corral-s3-bench-"))
    project = work / "project"
    shutil.copytree(args.project, project, ignore=shutil.ignore_patterns("static_root", ".*"))
    moto, url = _moto(work)
    rows: list[dict[str, Any]] = []
    try:
        with FaultProxy(url) as proxy:
            import boto3  # noqa: PLC0415 - the benchmark's environment has it

            client = boto3.client(
                "s3",
                endpoint_url=url,
                aws_access_key_id="test",
                aws_secret_access_key="test",
                region_name="us-east-1",
            )
            for tool in tools:
                client.create_bucket(Bucket=_bucket(tool))
                _write_settings(project, tool, proxy.url)
            files = 0  # logical files: the entries of corral's staticfiles.json, once known
            for scenario in SCENARIOS:
                if scenario == "touch1pct":
                    _touch(project)
                for tool in tools:
                    proxy.clear()
                    row = _run(tool, project, work, proxy.url)
                    if not files:
                        manifest = client.get_object(
                            Bucket=_bucket("corral"), Key="static/staticfiles.json"
                        )["Body"]
                        files = len(json.loads(manifest.read())["paths"])
                    requests = proxy.count()
                    row.update(
                        scenario=scenario,
                        tool=tool,
                        requests=requests,
                        puts=proxy.count("PUT"),
                        files=files,
                        requests_per_file=round(requests / files, 3),
                    )
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    finally:
        moto.terminate()
        moto.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(
            json.dumps({"cpu": _cpu(), "project": str(args.project), "rows": rows}, indent=2) + "\n"
        )


def _bucket(tool: str) -> str:
    return f"bench-{tool}"


def _write_settings(project: Path, tool: str, endpoint: str) -> None:
    if tool == "corral":
        return
    name = "bench_" + tool.replace("-", "_")
    text = _SETTINGS.format(fasta=tool == "collectfasta", bucket=_bucket(tool), endpoint=endpoint)
    (project / "site_project" / f"{name}.py").write_text(text)


def _run(tool: str, project: Path, work: Path, endpoint: str) -> dict[str, Any]:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": endpoint,
        "XDG_CACHE_HOME": str(work / "cache"),
        "PYTHONPATH": str(project),
    }
    if tool == "corral":
        command = [
            str(Path(sys.executable).with_name("corral")),
            "collect",
            "--target",
            f"s3://{_bucket(tool)}/static",
            "--config",
            str(project / "pyproject.toml"),
            "-q",
        ]
    else:
        env["DJANGO_SETTINGS_MODULE"] = "site_project.bench_" + tool.replace("-", "_")
        command = [sys.executable, str(project / "manage.py"), "collectstatic", "--noinput", "-v0"]
    rss = work / "rss"
    start = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", "-o", str(rss), *command],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{tool} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return {
        "wall_s": round(wall, 3),
        "peak_rss_mib": round(int(rss.read_text().split()[-1]) / 1024, 1),
    }


def _touch(project: Path) -> None:
    texts = sorted(
        p for p in (project / "assets").rglob("*") if p.suffix in (".css", ".js") and p.is_file()
    )
    count = max(1, math.ceil(len(texts) / 100))
    for path in texts[:count]:
        with path.open("a") as out:
            out.write("\n/* touched */\n")


def _moto(work: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = (work / "moto.log").open("wb")
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    while True:
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1).close()
            return server, url
        except OSError:
            time.sleep(0.1)


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


if __name__ == "__main__":
    main()
