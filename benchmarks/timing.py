"""Timing helpers shared by the benchmarks: a timed call, agreement of two results, a timed flow run on a small demo."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np


def timed(fn):
    """Run ``fn()``; return (wall seconds, CPU seconds of this process, its result)."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def max_relative_difference(ours: np.ndarray, reference: np.ndarray) -> float:
    """The largest |ours / reference - 1| over all values."""
    return float(np.max(np.abs(ours / reference - 1)))


def demo_catalog(root: Path, size_m: float, resolution_m: float, extra: str = "") -> Path:
    """Build a small demo region under ``root/demo`` and write its catalog (``extra``: more YAML)."""
    from geoprospect.demo import ensure_demo

    ensure_demo(root / "demo", seed=5, size_m=size_m, resolution_m=resolution_m)
    catalog = root / "demo.yaml"
    catalog.write_text(f"study_area: bench\ndemo: {{seed: 5, folder: {root / 'demo'}, size_m: {size_m}, "
                       f"resolution_m: {resolution_m}}}\n" + extra)
    return catalog


def timed_flow_run(flow: str, catalog: Path, folder: Path, log: Path) -> tuple[float, str]:
    """Run ``python -m flow`` to the end (outputs and PREFECT_HOME under ``folder``); (seconds, the log it wrote)."""
    from tests.reliability.support import start_flow

    start_bytes = log.stat().st_size if log.exists() else 0
    start = time.perf_counter()
    process = start_flow(flow, catalog, folder / "outputs", folder / "prefect", log)
    if process.wait() != 0:
        raise RuntimeError(f"the run failed; {log} ends with:\n{log.read_text()[-3000:]}")
    return time.perf_counter() - start, log.read_text()[start_bytes:]
