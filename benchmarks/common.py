"""What the benchmarks share: resident memory, repeated timings, and the steady per-frame time."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

STEADY_FROM = 8  # tracked frames before the memory bank is full and the caches are warm are left out


def rss_mb() -> float:
    """This process's resident memory now (VmRSS), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def median_seconds(call, repeats: int) -> float:
    """The median wall time of `repeats` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def steady_median(times, start: int = STEADY_FROM) -> float:
    """The median per-frame time from frame `start` on; nan for a run too short to have one."""
    return float(np.median(times[start:])) if len(times) > start else float("nan")
