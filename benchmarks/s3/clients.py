"""Which S3 client corral uses: boto3, obstore and corral's own (``s3http.py``), on the same
moto_server.

Each client runs in its own child process (so import time and peak RSS are its own):
import and client set-up, N PUTs of 1 KiB with 16 in flight (threads), one paginated
LIST of them, and a conditional GET answered 304. Usage::

    flock /work/bench.lock python benchmarks/s3/clients.py --objects 1000 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

_CHILD = r"""
import os, sys, time, resource, json
from concurrent.futures import ThreadPoolExecutor
kind, url, n, bucket = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
t0 = time.perf_counter()
body = os.urandom(1024)
if kind == "boto3":
    import boto3
    from botocore.config import Config
    c = boto3.client("s3", endpoint_url=url, aws_access_key_id="test",
        aws_secret_access_key="test", region_name="us-east-1",
        config=Config(max_pool_connections=20, request_checksum_calculation="when_required"))
    setup = time.perf_counter() - t0
    def put(i): return c.put_object(Bucket=bucket, Key=f"p/{i}.css", Body=body,
        ContentType="text/css", CacheControl="public, max-age=60")["ETag"]
    def listing(): return sum(len(p.get("Contents", [])) for p in
        c.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="p/"))
    def cond(etag):
        try: c.get_object(Bucket=bucket, Key="p/0.css", IfNoneMatch=etag)
        except Exception as e: return "304" in str(e)
elif kind == "corral":
    from corral.targets.awschain import resolve
    from corral.targets.location import S3Location, S3Options
    from corral.targets.s3http import HttpStore
    from corral.targets.store import Headers
    os.environ.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test")
    options = S3Options(endpoint_url=url, region="us-east-1", concurrency=16)
    location = S3Location(bucket, "")
    c = HttpStore(resolve(options, bucket), location, options)
    setup = time.perf_counter() - t0
    head = Headers("text/css", "public, max-age=60")
    def put(i): return c.put(f"p/{i}.css", body, head)
    def listing(): return sum(1 for _ in c.list("p/"))
    def cond(etag): return c.get("p/0.css", etag=etag).not_modified
else:
    import obstore as obs
    from obstore.store import S3Store
    s = S3Store(bucket, endpoint=url, access_key_id="test", secret_access_key="test",
        region="us-east-1", virtual_hosted_style_request=False,
        client_options={"allow_http": True})
    setup = time.perf_counter() - t0
    def put(i): return obs.put(s, f"p/{i}.css", body,
        attributes={"Content-Type": "text/css", "Cache-Control": "public, max-age=60"})["e_tag"]
    def listing(): return sum(len(b) for b in obs.list(s, prefix="p/"))
    def cond(etag):
        try: obs.get(s, "p/0.css", options={"if_none_match": etag}); return False
        except Exception as e: return "304" in str(e) or "NotModified" in type(e).__name__
t1 = time.perf_counter()
with ThreadPoolExecutor(16) as pool: etags = list(pool.map(put, range(n)))
t2 = time.perf_counter()
count = listing()
t3 = time.perf_counter()
ok = cond(etags[0])
t4 = time.perf_counter()
print(json.dumps({"client": kind, "setup_s": setup, "puts_per_s": n / (t2 - t1),
    "list_s": t3 - t2, "listed": count, "conditional_get_s": t4 - t3, "got_304": ok,
    "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--clients", default="boto3,obstore,corral")
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    moto = Path(sys.executable).with_name("moto_server")
    server = subprocess.Popen(
        [str(moto), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    results = []
    try:
        while True:
            try:
                urllib.request.urlopen(url + "/moto-api/", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        import boto3  # noqa: PLC0415 - the benchmark's own environment has it

        for round_ in range(args.repeat):
            for kind in args.clients.split(","):  # alternating, same server
                urllib.request.urlopen(
                    urllib.request.Request(url + "/moto-api/reset", method="POST")
                ).close()
                boto3.client(
                    "s3",
                    endpoint_url=url,
                    aws_access_key_id="test",
                    aws_secret_access_key="test",
                    region_name="us-east-1",
                ).create_bucket(Bucket="bench-clients")
                out = subprocess.run(
                    [sys.executable, "-c", _CHILD, kind, url, str(args.objects), "bench-clients"],
                    capture_output=True,
                    text=True,
                    check=True,
                    env={**os.environ, "AWS_EC2_METADATA_DISABLED": "true"},
                )
                row = json.loads(out.stdout)
                row["round"] = round_
                results.append(row)
                print(json.dumps(row))
    finally:
        server.terminate()
        server.wait(10)
    if args.json:
        args.json.write_text(
            json.dumps({"objects": args.objects, "cpu": _cpu(), "results": results}, indent=2)
        )


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_NOFILE, resource.getrlimit(resource.RLIMIT_NOFILE))
    main()
