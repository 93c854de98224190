"""corral runs against a running ``compare.py``'s server and corral bucket, counted apart.

For a no-change figure of a newer corral without redoing a long comparison: while
``compare.py`` (same lock, same machine) is still measuring the incumbents, this runs
``corral collect`` ``--runs`` times against its moto_server, with its corpus copy and build
cache, through a proxy of its own (so neither run's request counts mix). The first run
publishes whatever the corpus copy holds by then (the incumbents' 1% touch changes it);
the next ones are no-change runs. Usage::

    python benchmarks/s3/rerun.py /tmp/corral-s3-bench-XXXX http://127.0.0.1:PORT out.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from tests.targets.faultproxy import FaultProxy  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("work", type=Path, help="compare.py's work directory")
    parser.add_argument("moto", help="its moto_server URL")
    parser.add_argument("json", type=Path)
    parser.add_argument("--runs", type=int, default=4)
    args = parser.parse_args()
    corral = str(Path(sys.executable).with_name("corral"))
    config = args.work / "corpus/corral/pyproject.toml"
    rss = args.work / "rerun-rss"
    rows = []
    with FaultProxy(args.moto) as proxy:
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ENDPOINT_URL": proxy.url,
            "XDG_CACHE_HOME": str(args.work / "cache-corral"),
        }
        for run in range(args.runs):
            proxy.clear()
            start = time.perf_counter()
            done = subprocess.run(
                ["/usr/bin/time", "-f", "%M", "-o", str(rss), corral, "collect", "--target",
                 "s3://bench-corral/static", "--config", str(config), "--json"],
                cwd=config.parent, env=env, capture_output=True, text=True, check=True,
            )  # fmt: skip
            report = json.loads(done.stdout)
            row = {
                "run": run,
                "wall_s": round(time.perf_counter() - start, 3),
                "peak_rss_mib": round(int(rss.read_text().split()[-1]) / 1024, 1),
                "requests": proxy.count(),
                "puts": proxy.count("PUT"),
                "lists": sum(1 for s in proxy.log if "list-type" in s.query),
                "counts": report["counts"],
                "timings": report["timings"],
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    args.json.write_text(json.dumps({"rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
