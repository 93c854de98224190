"""The pool follows the CPUs the process may really use: affinity and the cgroup quota."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from corral.compress.cpus import available_cpus, cgroup_quota


def _cgroup(tmp_path: Path, cpu_max: str | None) -> Path:
    root = tmp_path / "cgroup"
    root.mkdir(parents=True)
    if cpu_max is not None:
        (root / "cpu.max").write_text(cpu_max + "\n")
    return root


@pytest.mark.parametrize(
    ("cpu_max", "quota"),
    [("max 100000", None), ("150000 100000", 1.5), ("50000 100000", 0.5), (None, None),
     ("garbage", None)],
)  # fmt: skip
def test_cgroup_v2_cpu_max(tmp_path: Path, cpu_max: str | None, quota: float | None) -> None:
    assert cgroup_quota(_cgroup(tmp_path, cpu_max)) == quota


def test_cgroup_v1_cfs_quota(tmp_path: Path) -> None:
    root = _cgroup(tmp_path, None)
    (root / "cpu.cfs_quota_us").write_text("250000\n")
    (root / "cpu.cfs_period_us").write_text("100000\n")
    assert cgroup_quota(root) == 2.5
    (root / "cpu.cfs_quota_us").write_text("-1\n")  # unlimited
    assert cgroup_quota(root) is None


def test_the_quota_caps_the_affinity_rounded_up(tmp_path: Path) -> None:
    affinity = len(os.sched_getaffinity(0))
    assert available_cpus(_cgroup(tmp_path / "a", "max 100000")) == affinity
    assert available_cpus(_cgroup(tmp_path / "b", "50000 100000")) == 1
    assert available_cpus(_cgroup(tmp_path / "c", f"{affinity * 100000 + 1} 100000")) == affinity
    if affinity >= 2:
        assert available_cpus(_cgroup(tmp_path / "d", "150000 100000")) == 2
        assert available_cpus(_cgroup(tmp_path / "e", "100000 100000")) == 1


def test_the_affinity_is_followed(tmp_path: Path) -> None:
    before = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {min(before)})
        assert available_cpus(_cgroup(tmp_path, None)) == 1
    finally:
        os.sched_setaffinity(0, before)
