"""The serving benchmark runs end to end (one app, one second per scenario), so it never
rots; the figures of a smoke run mean nothing."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import need


def test_serve_benchmark_smoke(tmp_path: Path) -> None:
    need(shutil.which("wrk") is not None, "wrk is not installed (scripts/install-serving-deps.sh)")
    script = Path(__file__).with_name("serve.py")
    argv = [sys.executable, str(script), "--seconds", "1", "--files", "50", "--out", str(tmp_path),
            "--soak", "2", "--startup-runs", "1", "--rounds", "1"]  # fmt: skip
    subprocess.run([*argv, "--only", "gunicorn/corral_wsgi"], check=True,
                   capture_output=True, timeout=300)  # fmt: skip
    [result] = tmp_path.glob("*-serve-*.json")
    data = json.loads(result.read_text())
    [row] = data["runs"]
    assert row["app"] == "corral_wsgi"
    for scenario in ("css-br", "js-1mb", "304", "range"):
        assert row[scenario]["rps"] > 0
        assert row[scenario]["bad_responses"] == 0, scenario
        assert row[scenario]["cpu_us_per_req"] > 0, scenario
    assert data["startup"]["corral"]["startup_ms"] > 0
    assert data["startup"]["manifest_read_ms"] > 0
    assert row["soak"]["rss_mib_over_time"][0][1] > 0
