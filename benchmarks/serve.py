"""Serving benchmark: corral's WSGI/ASGI apps against WhiteNoise and ServeStatic, nginx as
the ceiling, on the same machine in the same run (docs/performance.md, "Serving").

Every server runs 2 workers; `wrk -t2 -c32` hammers it for --seconds per scenario:

* ``css-br``  a 5 KB stylesheet, ``Accept-Encoding: br`` (its brotli variant);
* ``js-1mb``  a 1 MB script, ``Accept-Encoding: gzip, br`` (its smallest variant);
* ``304``     the stylesheet again with ``If-None-Match`` set to the server's own ETag;
* ``range``   64 KiB from the middle of a 10 MB file.

Pairs: corral vs WhiteNoise under gunicorn (gthread, 2x4) and granian (WSGI), corral vs
ServeStatic under uvicorn and granian (ASGI), and nginx with `corral webserver`'s config.
Under each Python server a "null" app (benchmarks/serve_apps.py: every answer made in
advance) shows the ceiling any Python app reaches on that server.
Reports req/s, p50/p99 latency, the server's CPU time per request (``cpu_us_per_req``,
all its processes and threads: steadier than req/s on a shared machine), each server's
RSS after its run, a soak of corral's apps
(--soak seconds of the small-file load, RSS sampled every 10 s), and start-up time and
table size for a 20,000-file root against reading its manifest alone. Records the load
average before and after. Run it under `flock /work/bench.lock` on a shared machine.

    python benchmarks/serve.py --out benchmarks/results --seconds 5 --soak 60
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.serve.servers import free_port, request, running  # noqa: E402

BIN = Path(sys.executable).parent
SERVERS = [
    ("gunicorn", "corral_wsgi"),
    ("gunicorn", "whitenoise_wsgi"),
    ("gunicorn", "null_wsgi"),
    ("granian-wsgi", "corral_wsgi"),
    ("granian-wsgi", "whitenoise_wsgi"),
    ("granian-wsgi", "null_wsgi"),
    ("uvicorn", "corral_asgi"),
    ("uvicorn", "servestatic_asgi"),
    ("uvicorn", "null_asgi"),
    ("granian-asgi", "corral_asgi"),
    ("granian-asgi", "servestatic_asgi"),
    ("granian-asgi", "null_asgi"),
    ("nginx", "nginx"),
]


def build_root(base: Path) -> Path:
    from corral import Config, DirectorySource, collect  # noqa: PLC0415

    src = base / "src"
    (src / "css").mkdir(parents=True)
    (src / "js").mkdir()
    (src / "media").mkdir()
    rules = "".join(f".c{i} {{ color: #{i:06x}; margin: {i % 17}px; }}\n" for i in range(130))
    (src / "css" / "app.css").write_text(rules[:5000])
    rng = random.Random(1)
    words = [f"identifier{i}" for i in range(400)]
    js = "".join(f"function {rng.choice(words)}_{i}() {{ return {i}; }}\n" for i in range(30000))
    (src / "js" / "bundle.js").write_text(js[: 1024 * 1024])
    (src / "media" / "video.bin").write_bytes(rng.randbytes(10 * 1024 * 1024))
    root = base / "root"
    collect(Config(sources=(DirectorySource(src),), root=root))
    os.chmod(base, 0o755)
    return root


def argv_for(server: str, app: str, port: int, work: Path, root: Path) -> list[str]:
    here = str(Path(__file__).parent)
    if server == "gunicorn":
        return [str(BIN / "gunicorn"), "-w", "2", "--threads", "4", "-b", f"127.0.0.1:{port}",
                "--chdir", here, "serve_apps:app"]  # fmt: skip
    if server == "uvicorn":
        return [str(BIN / "uvicorn"), "--workers", "2", "--host", "127.0.0.1", "--port",
                str(port), "--log-level", "warning", "--no-access-log", "--app-dir", here,
                "serve_apps:app"]  # fmt: skip
    if server.startswith("granian"):
        return [str(BIN / "granian"), "--interface", server.split("-")[1], "--workers", "2",
                "--host", "127.0.0.1", "--port", str(port), "--working-dir", here,
                "--log-level", "warning", "serve_apps:app"]  # fmt: skip
    from corral.serve.webserver import nginx_config  # noqa: PLC0415

    conf = work / "nginx.conf"
    text = nginx_config(root, "/static/", listen=f"127.0.0.1:{port}")
    conf.write_text(text.replace("worker_processes 1;", "worker_processes 2;"))
    return [shutil.which("nginx") or "/usr/sbin/nginx", "-e", "stderr", "-p", str(work),
            "-c", str(conf)]  # fmt: skip


def wrk(
    port: int,
    path: str,
    headers: dict[str, str],
    seconds: int,
    *,
    sample: int = 0,
    server: int = 0,
) -> dict[str, Any]:
    """Load ``path`` for ``seconds``; with ``sample`` (a pid), its RSS every 10 s too; with
    ``server`` (a pid), the CPU time that server's processes spent per request."""
    argv = ["wrk", "-t2", "-c32", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    cpu_before = cpu_seconds(server) if server else 0.0
    proc = subprocess.Popen([*argv, f"http://127.0.0.1:{port}{path}"], stdout=subprocess.PIPE,
                            text=True)  # fmt: skip
    rss: list[list[float]] = []
    if sample:
        started = time.monotonic()
        rss.append([0.0, round(rss_mib(sample), 1)])
        while proc.poll() is None:
            time.sleep(min(10.0, max(0.1, started + seconds - time.monotonic() - 0.5)))
            if proc.poll() is None:
                rss.append([round(time.monotonic() - started, 1), round(rss_mib(sample), 1)])
    out, _ = proc.communicate()
    cpu = cpu_seconds(server) - cpu_before if server else 0.0
    if proc.returncode:
        raise SystemExit(f"wrk failed: {argv}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result = {
        "rps": rps,
        "p50_ms": _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
        "p99_ms": _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
        "bad_responses": int(errors.group(1)) if errors else 0,
    }
    if server:
        done = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
        result["cpu_us_per_req"] = round(cpu / max(done, 1) * 1e6, 1)
    if sample:
        result["rss_mib_over_time"] = rss
    return result


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def rss_mib(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants, MiB."""
    total = 0
    for p in _tree(pid):
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
        except (OSError, AttributeError):
            continue
    return total / 1024


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) spent so far by ``pid`` and all its descendants' threads.

    Unlike req/s, CPU per request hardly moves with other work on the machine: the
    figure to compare apps by when the machine is shared."""
    ticks = 0
    for p in _tree(pid):
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                fields = Path(f"/proc/{p}/task/{task}/stat").read_text().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    found, pids = [], [pid]
    while pids:
        p = pids.pop()
        found.append(p)
        try:
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        pids += [int(c) for c in children]
    return found


def scenarios(root: Path, port: int) -> dict[str, tuple[str, dict[str, str]]]:
    manifest = json.loads((root / "corral-manifest.json").read_text())["files"]
    css = "/static/" + manifest["css/app.css"]["hashed"]
    js = "/static/" + manifest["js/bundle.js"]["hashed"]
    video = "/static/" + manifest["media/video.bin"]["hashed"]
    etag = request(port, css, {"Accept-Encoding": "br"}).header("etag") or '"none"'
    return {
        "css-br": (css, {"Accept-Encoding": "br"}),
        "js-1mb": (js, {"Accept-Encoding": "gzip, br"}),
        "304": (css, {"Accept-Encoding": "br", "If-None-Match": etag}),
        "range": (video, {"Range": "bytes=4000000-4065535"}),
    }


_PROBE = """
import gc, os, sys, time, tracemalloc
kind, root, mode = sys.argv[1:4]
from corral.manifest import load_json
from corral.serve.responder import Responder
from whitenoise import WhiteNoise
path = os.path.join(root, "corral-manifest.json")

def build():
    if kind == "corral":
        return Responder(root, "/static/")
    if kind == "manifest":  # what the responder's start-up is compared with: the same read
        with open(path, "rb") as file:
            return load_json(file.read(), path)
    return WhiteNoise(lambda e, s: [], root=root, prefix="/static/")

gc.collect()
if mode == "memory":
    tracemalloc.start()
    app = build()
    gc.collect()
    print(tracemalloc.get_traced_memory()[0], 0)
else:
    wall, cpu = time.perf_counter(), time.process_time()
    app = build()
    print(time.perf_counter() - wall, time.process_time() - cpu)
"""


def _probe(kind: str, root: Path, mode: str) -> tuple[float, float]:
    text = subprocess.run([sys.executable, "-c", _PROBE, kind, str(root), mode],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    first, second = text.split()
    return float(first), float(second)


def startup(base: Path, files: int, runs: int = 7) -> dict[str, Any]:
    """Start-up time and table size of corral's responder (and WhiteNoise's) for ``files``.

    Each figure is a fresh process with the imports done before the clock starts: what is
    timed is building the file table. corral's responder and reading its manifest alone
    (the same file, the same JSON parser) alternate, ``runs`` times each; the table's size
    is measured in a run of its own (tracemalloc slows allocation several times over).
    """
    from corral import Config, DirectorySource, collect  # noqa: PLC0415

    src = base / "many"
    for i in range(files):
        d = src / f"d{i % 100}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i}.css").write_text(f".x{i}{{color:red}}\n")
    root = base / "many-root"
    collect(Config(sources=(DirectorySource(src),), root=root, compress=False))
    times: dict[str, list[tuple[float, float]]] = {"corral": [], "manifest": []}
    for _ in range(runs):
        for kind, values in times.items():
            values.append(_probe(kind, root, "time"))
    whitenoise = [_probe("whitenoise", root, "time") for _ in range(3)]

    def ms(values: list[float]) -> float:
        return round(statistics.median(values) * 1000, 1)

    beyond = [c[0] - m[0] for c, m in zip(times["corral"], times["manifest"], strict=True)]
    beyond_cpu = [c[1] - m[1] for c, m in zip(times["corral"], times["manifest"], strict=True)]
    manifest = root / "corral-manifest.json"
    return {
        "files": files,
        "runs": runs,
        "manifest_bytes": manifest.stat().st_size,
        "corral": {
            "startup_ms": ms([t[0] for t in times["corral"]]),
            "startup_cpu_ms": ms([t[1] for t in times["corral"]]),
            "table_mib": round(_probe("corral", root, "memory")[0] / 2**20, 2),
        },
        "manifest_read_ms": ms([t[0] for t in times["manifest"]]),
        "manifest_read_cpu_ms": ms([t[1] for t in times["manifest"]]),
        "beyond_manifest_ms": ms(beyond),
        "beyond_manifest_cpu_ms": ms(beyond_cpu),
        "whitenoise": {
            "startup_ms": ms([t[0] for t in whitenoise]),
            "startup_cpu_ms": ms([t[1] for t in whitenoise]),
            "table_mib": round(_probe("whitenoise", root, "memory")[0] / 2**20, 2),
        },
    }


def run_group(
    server: str, apps: list[str], root: Path, base: Path, args: argparse.Namespace
) -> list[dict[str, Any]]:
    """Run ``apps`` under ``server`` side by side; per scenario, each app in turn for
    --seconds, --rounds times (so load from other work falls on all of them); the best
    round is kept, every round is recorded."""
    with contextlib.ExitStack() as stack:
        ports: dict[str, tuple[int, int]] = {}
        for app in apps:
            port = free_port()
            work = base / f"{server}-{app}"
            work.mkdir()
            env = {"BENCH_ROOT": str(root), "BENCH_APP": app}
            pid = stack.enter_context(
                running(argv_for(server, app, port, work, root), port, work, env)
            )
            ports[app] = (port, pid)
        rows = {app: {"server": server, "app": app} for app in apps}
        plans = {app: scenarios(root, port) for app, (port, _) in ports.items()}
        for scenario in plans[apps[0]]:
            for _ in range(args.rounds):
                for app, (port, pid) in ports.items():
                    path, headers = plans[app][scenario]
                    result = wrk(port, path, headers, args.seconds, server=pid)
                    row = rows[app]
                    best = row.get(scenario)
                    rounds = best["rounds"] if best else []
                    rounds.append(result["rps"])
                    cpu = best["cpu_rounds"] if best else []
                    cpu.append(result["cpu_us_per_req"])
                    if best is None or result["rps"] > best["rps"]:
                        row[scenario] = {**result, "rounds": rounds, "cpu_rounds": cpu}
        for app, (port, pid) in ports.items():
            row = rows[app]
            row["rss_mib"] = round(rss_mib(pid), 1)
            if args.soak and app.startswith("corral"):
                path, headers = plans[app]["css-br"]
                soak = wrk(port, path, headers, args.soak, sample=pid)
                row["soak"] = {"seconds": args.soak, **soak}
                row["soak"]["rss_after_mib"] = round(rss_mib(pid), 1)
            print(json.dumps(row), flush=True)
        return list(rows.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=5, help="seconds per scenario and round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per scenario")
    parser.add_argument("--out", type=Path, help="directory for the JSON result")
    parser.add_argument("--files", type=int, default=20000, help="files for the start-up test")
    parser.add_argument("--startup-runs", type=int, default=7, help="fresh processes per figure")
    parser.add_argument(
        "--only", action="append", help="limit to these apps (corral_wsgi) or SERVER/APP pairs"
    )
    parser.add_argument(
        "--soak",
        type=int,
        default=60,
        help="seconds of extra load on corral's apps, RSS sampled every 10 s (0: none)",
    )
    args = parser.parse_args()
    results: dict[str, Any] = {
        "machine": platform.node(),
        "cpus": os.cpu_count(),
        "load_before": os.getloadavg(),
        "runs": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        root = build_root(base)
        groups: dict[str, list[str]] = {}
        for server, app in SERVERS:
            if not args.only or app in args.only or f"{server}/{app}" in args.only:
                groups.setdefault(server, []).append(app)
        for server, apps in groups.items():
            results["runs"] += run_group(server, apps, root, base, args)
        if args.files:
            results["startup"] = startup(base, args.files, args.startup_runs)
            print(json.dumps(results["startup"]), flush=True)
    results["load_after"] = os.getloadavg()
    if args.out:
        git = ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]
        commit = subprocess.run(git, capture_output=True, text=True, check=False).stdout.strip()
        stamp = time.strftime("%Y-%m-%d-%H%M", time.gmtime())
        name = f"{stamp}-{_machine()}-serve-{commit or 'unknown'}.json"
        (args.out / name).write_text(json.dumps(results, indent=1) + "\n")
        print(args.out / name)


def _machine() -> str:
    try:
        model = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.machine()
    if "EPYC" in model:
        return "amd-epyc"
    if "Xeon" in model:
        return "intel-xeon"
    return platform.machine()


if __name__ == "__main__":
    main()
