"""Serving benchmark: corral's WSGI/ASGI apps against WhiteNoise and ServeStatic, nginx as
the ceiling, on the same machine in the same run (docs/performance.md, "Serving").

Every server runs 2 workers; `wrk -t2 -c32` hammers it for --seconds per scenario:

* ``css-br``  a 5 KB stylesheet, ``Accept-Encoding: br`` (its brotli variant);
* ``js-1mb``  a 1 MB script, ``Accept-Encoding: gzip, br`` (its smallest variant);
* ``304``     the stylesheet again with ``If-None-Match`` set to the server's own ETag;
* ``range``   64 KiB from the middle of a 10 MB file.

Pairs: corral vs WhiteNoise under gunicorn (gthread, 2x4) and granian (WSGI), corral vs
ServeStatic under uvicorn and granian (ASGI), and nginx with `corral webserver`'s config.
Reports req/s, p50/p99 latency, each server's RSS after its run, and start-up time and
table size for a 20,000-file root. Run it under `flock /work/bench.lock` on a shared machine.

    python benchmarks/serve.py --out benchmarks/results --seconds 5
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
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
    ("granian-wsgi", "corral_wsgi"),
    ("granian-wsgi", "whitenoise_wsgi"),
    ("uvicorn", "corral_asgi"),
    ("uvicorn", "servestatic_asgi"),
    ("granian-asgi", "corral_asgi"),
    ("granian-asgi", "servestatic_asgi"),
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


def wrk(port: int, path: str, headers: dict[str, str], seconds: int) -> dict[str, Any]:
    argv = ["wrk", "-t2", "-c32", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    out = subprocess.run([*argv, f"http://127.0.0.1:{port}{path}"], capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p50_ms": _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
        "p99_ms": _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
        "bad_responses": int(errors.group(1)) if errors else 0,
    }


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def rss_mib(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants, MiB."""
    total = 0
    pids = [pid]
    while pids:
        p = pids.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except (OSError, AttributeError):
            continue
        pids += [int(c) for c in children]
    return total / 1024


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


def startup(base: Path, files: int) -> dict[str, Any]:
    """Start-up time and table size of corral's responder (and WhiteNoise's) for ``files``."""
    from corral import Config, DirectorySource, collect  # noqa: PLC0415

    src = base / "many"
    for i in range(files):
        d = src / f"d{i % 100}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i}.css").write_text(f".x{i}{{color:red}}\n")
    root = base / "many-root"
    collect(Config(sources=(DirectorySource(src),), root=root, compress=False))
    # Imports happen before the clock starts: what is timed is building the file table.
    probe = (
        "import sys, time, tracemalloc, gc\n"
        "kind, root = sys.argv[1], sys.argv[2]\n"
        "from corral.serve.responder import Responder\n"
        "from whitenoise import WhiteNoise\n"
        "gc.collect(); tracemalloc.start(); t = time.perf_counter()\n"
        "if kind == 'corral':\n"
        "    app = Responder(root, '/static/')\n"
        "else:\n"
        "    app = WhiteNoise(lambda e, s: [], root=root, prefix='/static/')\n"
        "elapsed = time.perf_counter() - t; gc.collect()\n"
        "print(elapsed, tracemalloc.get_traced_memory()[0])\n"
    )
    out: dict[str, Any] = {"files": files}
    for kind in ("corral", "whitenoise"):
        runs = []
        for _ in range(3):
            text = subprocess.run([sys.executable, "-c", probe, kind, str(root)],
                                  capture_output=True, text=True, check=True).stdout  # fmt: skip
            seconds, size = text.split()
            runs.append((float(seconds), int(size)))
        best = min(runs)
        out[kind] = {"startup_ms": round(best[0] * 1000, 1), "table_mib": round(best[1] / 2**20, 1)}
    manifest = root / "corral-manifest.json"
    t = time.perf_counter()
    json.loads(manifest.read_bytes())
    out["manifest_json_ms"] = round((time.perf_counter() - t) * 1000, 1)
    out["manifest_bytes"] = manifest.stat().st_size
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--out", type=Path, help="directory for the JSON result")
    parser.add_argument("--files", type=int, default=20000, help="files for the start-up test")
    parser.add_argument(
        "--only", action="append", help="limit to these apps (corral_wsgi) or SERVER/APP pairs"
    )
    parser.add_argument(
        "--soak",
        type=int,
        default=0,
        help="seconds of extra load on corral's apps, RSS before/after",
    )
    args = parser.parse_args()
    results: dict[str, Any] = {"machine": platform.node(), "cpus": os.cpu_count(), "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        root = build_root(base)
        for server, app in SERVERS:
            if args.only and app not in args.only and f"{server}/{app}" not in args.only:
                continue
            port = free_port()
            work = base / f"{server}-{app}"
            work.mkdir()
            env = {"BENCH_ROOT": str(root), "BENCH_APP": app}
            argv = argv_for(server, app, port, work, root)
            with running(argv, port, work, env) as pid:
                row: dict[str, Any] = {"server": server, "app": app}
                for name, (path, headers) in scenarios(root, port).items():
                    row[name] = wrk(port, path, headers, args.seconds)
                row["rss_mib"] = round(rss_mib(pid), 1)
                if args.soak and app.startswith("corral"):
                    path, headers = scenarios(root, port)["css-br"]
                    row["soak"] = {"seconds": args.soak, **wrk(port, path, headers, args.soak)}
                    row["soak"]["rss_after_mib"] = round(rss_mib(pid), 1)
            results["runs"].append(row)
            print(json.dumps(row), flush=True)
        if args.files:
            results["startup"] = startup(base, args.files)
            print(json.dumps(results["startup"]), flush=True)
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
