"""corral's S3 publish against django-storages and django-storages + Collectfasta.

Same corpus (a copy of a Django project), same moto_server, same run; every request each
tool makes is counted by the test suite's proxy (tests/targets/faultproxy.py). Scenarios:
``cold`` (empty bucket, no local build), ``nochange`` (run again), ``touch1pct`` (1% of the
CSS/JS files changed, then run). Each tool has its own bucket; runs alternate tool by tool
within a scenario. Peak RSS comes from GNU time. Usage (wrap in the shared lock)::

    flock /work/bench.lock python benchmarks/s3/compare.py --project examples/site \\
        --json benchmarks/results/DATE-TIME-MACHINE-s3-publish-COMMIT.json

or on a corpus built by ``benchmarks/corpus.py`` (copied first: the 1% touched are the copy's
CSS/JS files inside the collected npm directories and site assets; app static files in
the corpus's virtualenv are read, never touched)::

    flock /work/bench.lock python benchmarks/s3/compare.py --corpus /tmp/corpus-medium \\
        --skip django-storages:touch1pct --json benchmarks/results/….json

Needs ``pip install -r benchmarks/s3/requirements.txt`` and corral[s3] in this interpreter
(with a corpus: also ``benchmarks/requirements.txt``, for the corpus's Django apps).
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
from {settings} import *  # noqa
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
    parser.add_argument("--corpus", type=Path, help="a corpus of benchmarks/corpus.py instead")
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument(
        "--skip", action="append", default=[], metavar="TOOL:SCENARIO", help="leave a run out"
    )
    parser.add_argument(
        "--order",
        choices=["scenario", "tool"],
        default="scenario",
        help="alternate tools within each scenario (default), or run each tool's scenarios "
        "in a row (its numbers first: for a long benchmark that may be stopped)",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    tools = args.tools.split(",")
    work = Path(tempfile.mkdtemp(prefix="corral-s3-bench-"))
    layout = _copy_corpus(args.corpus, work) if args.corpus else _copy_project(args.project, work)
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
                _write_settings(layout, tool, proxy.url)
            files = 0  # logical files: the entries of corral's staticfiles.json, once known
            touched = 0
            for scenario, tool in _order(tools, args.order):
                if f"{tool}:{scenario}" in args.skip:
                    continue
                if scenario == "touch1pct" and (args.order == "tool" or tool == tools[0]):
                    touched = _touch(layout)  # by tool: the same files again, for each tool
                proxy.clear()
                row = _run(tool, layout, work, proxy.url)
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
                if scenario == "touch1pct":
                    row["touched"] = touched
                rows.append(row)
                print(json.dumps(row), flush=True)
                if args.json:  # after each run: a long benchmark's rows survive a stop
                    _save(args, rows)
    finally:
        moto.terminate()
        moto.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        _save(args, rows)


def _order(tools: list[str], order: str) -> list[tuple[str, str]]:
    if order == "tool":
        return [(scenario, tool) for tool in tools for scenario in SCENARIOS]
    return [(scenario, tool) for scenario in SCENARIOS for tool in tools]


def _save(args: argparse.Namespace, rows: list[dict[str, Any]]) -> None:
    where = str(args.corpus or args.project)
    args.json.write_text(
        json.dumps({"cpu": _cpu(), "project": where, "skipped": args.skip, "rows": rows}, indent=2)
        + "\n"
    )


class _Layout:
    """Where a copied project's parts are: the corral config, the Django project, the
    settings module, and the directories whose CSS/JS the 1% touch may change."""

    def __init__(self, corral: Path, django: Path, settings: str, touchable: list[Path]) -> None:
        self.corral, self.django, self.settings, self.touchable = (
            corral,
            django,
            settings,
            touchable,
        )


def _copy_project(project: Path, work: Path) -> _Layout:
    copy = work / "project"
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns("static_root", ".*"))
    return _Layout(copy / "pyproject.toml", copy, "site_project.settings", [copy / "assets"])


def _copy_corpus(corpus: Path, work: Path) -> _Layout:
    """Copy the corpus's own files (not its virtualenv) and point its configs at the copy."""
    copy = work / "corpus"
    for part in ("assets", "node_modules", "corral", "django"):
        if not (corpus / part).is_dir():
            continue  # the smoke corpus has no node_modules
        shutil.copytree(
            corpus / part, copy / part, symlinks=True, ignore=shutil.ignore_patterns("static_root")
        )
    old, new = str(corpus.resolve()), str(copy)
    for config in (copy / "corral/pyproject.toml", copy / "django/benchsite/settings.py"):
        config.write_text(config.read_text().replace(old, new))
    sources = json.loads((corpus / "corpus.json").read_text())["sources"]
    touchable = [
        Path(s["path"].replace(old, new)) for s in sources if s["path"].startswith(old + "/")
    ]
    return _Layout(copy / "corral/pyproject.toml", copy / "django", "benchsite.settings", touchable)


def _bucket(tool: str) -> str:
    return f"bench-{tool}"


def _write_settings(layout: _Layout, tool: str, endpoint: str) -> None:
    if tool == "corral":
        return
    name = "bench_" + tool.replace("-", "_")
    text = _SETTINGS.format(
        settings=layout.settings,
        fasta=tool == "collectfasta",
        bucket=_bucket(tool),
        endpoint=endpoint,
    )
    package = layout.django / layout.settings.split(".")[0]
    (package / f"{name}.py").write_text(text)


def _run(tool: str, layout: _Layout, work: Path, endpoint: str) -> dict[str, Any]:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": endpoint,
        "XDG_CACHE_HOME": str(work / "cache"),
        "PYTHONPATH": str(layout.django),
    }
    if tool == "corral":
        command = [
            str(Path(sys.executable).with_name("corral")),
            "collect",
            "--target",
            f"s3://{_bucket(tool)}/static",
            "--config",
            str(layout.corral),
            "-q",
        ]
    else:
        package = layout.settings.split(".")[0]
        env["DJANGO_SETTINGS_MODULE"] = f"{package}.bench_" + tool.replace("-", "_")
        command = [sys.executable, str(layout.django / "manage.py"), "collectstatic", "--noinput"]
        command.append("-v0")
    rss = work / "rss"
    start = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", "-o", str(rss), *command],
        cwd=layout.corral.parent if tool == "corral" else layout.django,
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


def _touch(layout: _Layout) -> int:
    """Append a comment to 1% of the collected CSS/JS files (spread over them); how many."""
    texts = sorted(
        p
        for base in layout.touchable
        for p in base.rglob("*")
        if p.suffix in (".css", ".js") and p.is_file() and not p.is_symlink()
    )
    count = max(1, math.ceil(len(texts) / 100))
    step = max(1, len(texts) // count)
    for path in texts[::step][:count]:
        with path.open("a") as out:
            out.write("\n/* touched */\n")
    return count


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
