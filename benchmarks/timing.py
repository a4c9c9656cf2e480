"""Timing and agreement helpers shared by the forward-model benchmarks."""

from __future__ import annotations

import time

import numpy as np


def timed(fn):
    """Run ``fn()``; return (wall seconds, CPU seconds of this process, its result)."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def max_relative_difference(ours: np.ndarray, reference: np.ndarray) -> float:
    """The largest |ours / reference - 1| over all values."""
    return float(np.max(np.abs(ours / reference - 1)))
