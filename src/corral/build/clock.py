"""The timings a report shows, per stage."""

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
        start = time.perf_counter()
        try:
            yield
        finally:
            timings = self.report.timings
            timings[phase] = timings.get(phase, 0.0) + time.perf_counter() - start
