"""corral's upload alone, at several ``s3.concurrency`` values: pick the default by measuring.

Builds the corpus's release for the bucket once (a cold ``corral collect``), then for each
concurrency (``--runs`` times, the values interleaved) empties the bucket and publishes the
same build again: the build is then a no-change check and the rest is the cold upload
(LIST, state, every PUT). Same servers as ``compare.py`` (tools connected directly to weed,
requests from its counters; through the proxy on moto). Usage (wrap in the shared lock)::

    flock /work/bench.lock python benchmarks/s3/upload.py --server weed \\
        --corpus /work/bench-cache/corpus-medium --concurrency 8,16,32 --runs 2 \\
        --json benchmarks/results/….json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compare
from tests.targets.faultproxy import FaultProxy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--server", choices=["moto", "weed"], default="weed")
    parser.add_argument("--concurrency", default="8,16,32")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="corral-s3-upload-"))
    config = work / "corral/pyproject.toml"
    config.parent.mkdir()
    base = (args.corpus / "corral/pyproject.toml").read_text()
    server, url = compare._weed(work) if args.server == "weed" else compare._moto(work)
    rows: list[dict[str, Any]] = []
    try:
        with compare.WeedCounter(url) if args.server == "weed" else FaultProxy(url) as counter:
            if isinstance(counter, compare.WeedCounter):
                counter.bucket = compare._bucket("corral")
            client = compare.s3_client(url)
            client.create_bucket(Bucket=compare._bucket("corral"))
            config.write_text(base)
            first = _publish(config, work, counter)
            print(json.dumps({"build": first}), flush=True)
            for run in range(args.runs):
                for value in (int(v) for v in args.concurrency.split(",")):
                    compare._empty(client, "corral", work)  # the bucket; the build stays
                    config.write_text(base + f"s3 = {{ concurrency = {value} }}\n")
                    row = {"concurrency": value, "run": run, **_publish(config, work, counter)}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "cpu": compare._cpu(),
                    "server": args.server,
                    "corpus": str(args.corpus),
                    "build": first,
                    "rows": rows,
                },
                indent=2,
            )
            + "\n"
        )


def _publish(config: Path, work: Path, counter: Any) -> dict[str, Any]:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": counter.url,
        "XDG_CACHE_HOME": str(work / "cache"),
    }
    counter.clear()
    load = os.getloadavg()[0]
    start = time.perf_counter()
    child = subprocess.Popen(
        [
            *("/usr/bin/time", "-f", "%M", "-o", str(work / "rss")),
            str(Path(sys.executable).with_name("corral")),
            *("collect", "--target", f"s3://{compare._bucket('corral')}/static"),
            *("--config", str(config), "--json"),
        ],
        cwd=config.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    sampler = compare.TreeRss(child.pid)
    sampler.start()
    out, err = child.communicate()
    wall = time.perf_counter() - start
    sampler.stop()
    if child.returncode != 0:
        raise SystemExit(f"corral failed:\n{err[-4000:]}")
    report = json.loads(out)
    return {
        "wall_s": round(wall, 3),
        "timings": report["timings"],
        "uploaded": report["counts"]["upload"],
        "requests": counter.count(),
        "peak_rss_mib": round(int((work / "rss").read_text().split()[-1]) / 1024, 1),
        "tree_rss_mib": round(sampler.peak / 1024, 1),
        "load_before": round(load, 2),
        "load_after": round(os.getloadavg()[0], 2),
    }


if __name__ == "__main__":
    main()
