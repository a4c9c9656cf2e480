"""Benchmark: the regenerate flow on threads against a 2-worker Dask LocalCluster, and Prefect's overhead.

    python benchmarks/dask_scaleout.py [--size-m 6000] [--resolution-m 60]

Starts a Prefect server on a free loopback port with a temporary PREFECT_HOME (Dask workers report
to a server), builds a demo region of the given size, then runs ``python -m flows.regenerate`` twice
in fresh output folders (nothing cached between them): once on threads, once with ``--dask local``.
Prints the wall time of each and their ratio, and for each run Prefect's overhead: the sum of the
task run times against the flow's wall time (the rest is orchestration, waiting and the subflows'
own work outside tasks). Prospectivity runs two models and the inversion its tiny studies, so the
benchmark measures the runner, not the science.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-m", type=float, default=6000)
    parser.add_argument("--resolution-m", type=float, default=60)
    args = parser.parse_args()

    from ops.dashboard import Dashboard, server_up, stop

    folder = Path(tempfile.mkdtemp(prefix="gp-bench-dask-"))
    board = Dashboard(home=folder / "prefect", port=free_port())
    server_up(board)
    env = {**os.environ, **board.env()}
    os.environ.update(board.env())
    catalog = folder / "bench.yaml"
    catalog.write_text(f"study_area: bench\ndemo: {{seed: 7, folder: {folder / 'demo'}, size_m: {args.size_m}, "
                       f"resolution_m: {args.resolution_m}}}\nprospectivity:\n  models: {{rf: {{model: rf}}, "
                       "pu_rf: {model: pu_rf, params: {n_estimators: 10}}}\n  imbalance: [none, smote]\n"
                       "inversion: {study_size: tiny}\n")
    try:
        # Build the demo region first so that neither timed run pays for it.
        subprocess.run([sys.executable, "-c", f"from tasks.ingest import load_catalog; load_catalog.fn({str(catalog)!r})"],
                       cwd=ROOT, env=env, check=True)
        rows = {}
        for name, extra in (("threads", []), ("dask local (2 workers)", ["--dask", "local"])):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "flows.regenerate", "--catalog", str(catalog), "--outputs",
                            str(folder / name.split()[0])] + extra, cwd=ROOT, env=env, check=True, capture_output=True)
            rows[name] = time.perf_counter() - start
        overheads = asyncio.run(_overheads())
    finally:
        stop(board, "server")
    print(f"demo region {args.size_m / 1000:g} km at {args.resolution_m:g} m; {os.cpu_count()} cores")
    for (name, wall), (flow_s, tasks_s) in zip(rows.items(), overheads):
        print(f"{name:24s} wall {wall:7.1f} s (process)   flow {flow_s:7.1f} s, task runs {tasks_s:7.1f} s "
              f"= {100 * tasks_s / flow_s:5.1f} % of the flow's wall time")
    (threads, dask) = rows.values()
    print(f"ratio dask / threads wall time: {dask / threads:.2f}")


async def _overheads() -> list[tuple[float, float]]:
    """(flow wall s, sum of task run s over the run and its subflows) of each regenerate run, oldest first."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentTaskRunId
    from prefect.client.schemas.sorting import FlowRunSort

    from tasks.runs import task_run_table

    async with get_client() as client:
        runs = await client.read_flow_runs(flow_run_filter=FlowRunFilter(parent_task_run_id=FlowRunFilterParentTaskRunId(is_null_=True)),
                                           sort=FlowRunSort.START_TIME_ASC)
    out = []
    for run in runs:
        if run.name and run.total_run_time:
            tasks = await asyncio.to_thread(task_run_table, run.id)
            out.append((run.total_run_time.total_seconds(), float(tasks["duration_s"].sum())))
    return out


if __name__ == "__main__":
    main()
