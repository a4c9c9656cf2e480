"""Benchmark: cold against warm `regenerate` on the demo, and what a one-raster edit reruns.

    python benchmarks/regenerate_cache.py [--size-m 30000] [--resolution-m 30] [--quick]

Runs in one process against one temporary Prefect server (started before timing), with a fresh
PREFECT_HOME and outputs folder, so the times compare pipeline work, not server start-up. Prints the
cold and warm wall times and their ratio (goal: warm < 10 % of cold), then edits one pixel of the
DEM and prints which tasks ran again (goal: only those downstream of the DEM).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-m", type=float, default=30_000)
    parser.add_argument("--resolution-m", type=float, default=30)
    parser.add_argument("--quick", action="store_true", help="prospectivity with one random forest and 3 folds (small regions)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="gp-bench-"))
    os.environ.update(PREFECT_HOME=str(scratch / "prefect"), DO_NOT_TRACK="1", PREFECT_SERVER_ANALYTICS_ENABLED="false",
                      PREFECT_LOGGING_LEVEL="WARNING", PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120")
    catalog = scratch / "demo.yaml"
    catalog.write_text(f"study_area: bench\ndemo: {{seed: 42, folder: {scratch / 'demo'}, size_m: {args.size_m}, resolution_m: {args.resolution_m}}}\n"
                       + ("prospectivity: {models: {rf: {model: rf, params: {n_estimators: 50}}}, imbalance: [none], n_folds: 3}\n"
                          if args.quick else ""))

    from prefect import flow

    from flows.regenerate import regenerate
    from geoprospect.demo import ensure_demo

    flow(lambda: None, name="server-warm-up")()  # start the temporary server outside the timings
    t0 = time.perf_counter()
    ensure_demo(scratch / "demo", seed=42, size_m=args.size_m, resolution_m=args.resolution_m)
    build = time.perf_counter() - t0
    outputs = str(scratch / "outputs")
    cold, cold_state = timed(regenerate, catalog, outputs)
    warm, warm_state = timed(regenerate, catalog, outputs)
    print(f"demo region {args.size_m / 1000:g} km at {args.resolution_m:g} m (built once beforehand in {build:.1f} s)")
    print(f"cold regenerate: {cold:.1f} s   ({summary(cold_state)[1]})")
    print(f"warm regenerate: {warm:.1f} s   ({summary(warm_state)[1]})")
    print(f"warm / cold = {warm / cold:.3f}  (goal < 0.10)")

    touch_dem(scratch / "demo" / "rasters" / "dem.tif")
    edit, edit_state = timed(regenerate, catalog, outputs)
    reran, line = summary(edit_state)
    print(f"after editing one pixel of rasters/dem.tif: {edit:.1f} s ({line})")
    print("tasks that ran again: " + ", ".join(sorted(reran)))


def timed(fn, catalog: Path, outputs: str):
    t0 = time.perf_counter()
    state = fn(catalog=str(catalog), outputs=outputs, return_state=True)
    elapsed = time.perf_counter() - t0
    state.result()
    return elapsed, state


def summary(state):
    """(names of tasks that computed, a one-line count) over the run and its subflows."""
    from tasks.runs import task_run_states

    runs = task_run_states(state.state_details.flow_run_id)
    computed = [name for name, state_name in runs if state_name != "Cached"]
    return computed, f"{len(runs)} task runs: {len(runs) - len(computed)} cached, {len(computed)} computed"


def touch_dem(path: Path) -> None:
    """Change one pixel of the DEM by 1 m (a real content change, same size and format)."""
    import numpy as np
    import rasterio

    with rasterio.open(path, "r+") as dem:
        window = rasterio.windows.Window(0, 0, 1, 1)
        dem.write(dem.read(1, window=window) + np.float32(1.0), 1, window=window)


if __name__ == "__main__":
    main()
