"""How many CPUs this process may really use: affinity, then the cgroup's CPU quota.

``os.cpu_count()`` counts the machine's CPUs. A process pinned to some of them
(``taskset``, ``docker --cpuset-cpus``) sees fewer in ``os.sched_getaffinity``; a
container limited by a CPU quota (``docker --cpus 2``, a Kubernetes CPU limit) sees
every CPU but is throttled to ``quota / period`` of them, so a pool sized by the CPU
count would run more threads than it gets time for. :func:`available_cpus` takes the
smallest of the three, rounded up (a quota of 1.5 CPUs keeps two threads busy).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

__all__ = ["available_cpus", "cgroup_quota"]

_CGROUP_ROOT = Path("/sys/fs/cgroup")


def available_cpus(cgroup_root: Path = _CGROUP_ROOT) -> int:
    """The number of CPUs worth a thread each: at least 1."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        count = os.cpu_count() or 1
    quota = cgroup_quota(cgroup_root)
    if quota is not None:
        count = min(count, max(1, math.ceil(quota)))
    return max(1, count)


def cgroup_quota(cgroup_root: Path = _CGROUP_ROOT) -> float | None:
    """The CPU quota of this process's cgroup in CPUs (e.g. 1.5), or None if unlimited.

    cgroup v2: ``cpu.max`` ("QUOTA PERIOD" or "max PERIOD") of the process's own cgroup
    (from ``/proc/self/cgroup``) and of every ancestor, the smallest; cgroup v1:
    ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``.
    """
    found: list[float] = []
    for directory in _own_cgroups(cgroup_root):
        quota = _v2_quota(directory / "cpu.max")
        if quota is None:
            quota = _v1_quota(directory)
        if quota is not None:
            found.append(quota)
    return min(found) if found else None


def _own_cgroups(root: Path) -> list[Path]:
    """The process's cgroup directory and its ancestors up to ``root`` (v2), plus v1's
    ``cpu`` hierarchy; in a container these are usually just the root."""
    dirs: list[Path] = []
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        _id, controllers, path = [*line.split(":", 2), "", ""][:3]
        if controllers == "":  # v2 unified hierarchy
            base = root
        elif "cpu" in controllers.split(","):
            base = root / controllers  # v1, e.g. /sys/fs/cgroup/cpu,cpuacct
            if not base.is_dir():
                base = root / "cpu"
        else:
            continue
        here = base / path.lstrip("/")
        while True:
            dirs.append(here)
            if here == base or base not in here.parents:
                break
            here = here.parent
    if root not in dirs:
        dirs.append(root)
    return dirs


def _v2_quota(path: Path) -> float | None:
    try:
        quota, _, period = path.read_text().strip().partition(" ")
        if quota == "max":
            return None
        return int(quota) / int(period or "100000")
    except (OSError, ValueError, ZeroDivisionError):
        return None


def _v1_quota(directory: Path) -> float | None:
    try:
        quota = int((directory / "cpu.cfs_quota_us").read_text())
        period = int((directory / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota / period if quota > 0 and period > 0 else None
