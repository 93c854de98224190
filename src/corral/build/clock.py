"""The timings a report shows, per stage: wall time, and the CPU time of the process
(every thread: the compression pool's too) for the benchmark's "% busy"."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from corral.report import Report

__all__ = ["Clock"]


class Clock:
    def __init__(self, report: Report) -> None:
        self.report = report

    @contextmanager
    def __call__(self, phase: str) -> Iterator[None]:
        start, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            timings, cpu_timings = self.report.timings, self.report.cpu_timings
            timings[phase] = timings.get(phase, 0.0) + time.perf_counter() - start
            cpu_timings[phase] = cpu_timings.get(phase, 0.0) + time.process_time() - cpu
