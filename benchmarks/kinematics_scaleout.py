"""Benchmark: subduction kinematics for 0-230 Ma at 1 Myr on the demo plate model, serial against a
2-worker Dask LocalCluster, and the cache hit of a second run.

    python benchmarks/kinematics_scaleout.py [--stop-ma 230] [--step-myr 1]

Writes the demo plate model (with its age grids) to a temporary folder and starts a Prefect server on
a free loopback port with a temporary PREFECT_HOME (Dask workers report to a server). Then:

1. serial: the core step (:func:`geoprospect.pipelines.tectonics.kinematics_step`) in a loop in
   this process, no Prefect: the plate model is read once, each step resolves the topologies,
   computes the kinematics, samples the age grid and writes its Parquet table;
2. Dask: the tectonics flow's ``kinematics_steps`` task (``--steps-per-task`` steps each, the
   catalog's default 10) mapped over the steps on a LocalCluster of two single-threaded worker
   processes (each reads the plate model once);
3. the same flow again: every step is read from the cache.

Prints the time per step of each, the ratios, and how many tasks the second run recomputed.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stop-ma", type=float, default=230)
    parser.add_argument("--step-myr", type=float, default=1)
    parser.add_argument("--steps-per-task", type=int, default=10)
    args = parser.parse_args()

    from ops.dashboard import Dashboard, server_up, stop

    folder = Path(tempfile.mkdtemp(prefix="gp-bench-kinematics-"))
    board = Dashboard(home=folder / "prefect", port=free_port())
    server_up(board)
    os.environ.update(board.env())
    try:
        rows = _run(folder, args.stop_ma, args.step_myr, args.steps_per_task)
    finally:
        stop(board, "server")
    serial, dask, again, n, recomputed = rows
    steps_per_task = args.steps_per_task
    print(f"demo plate model, 0-{args.stop_ma:g} Ma every {args.step_myr:g} Myr: {n} steps; {os.cpu_count()} cores")
    print(f"serial (core loop, no Prefect)   {serial:7.1f} s  {1000 * serial / n:6.1f} ms/step")
    print(f"Dask LocalCluster, 2 workers     {dask:7.1f} s  {1000 * dask / n:6.1f} ms/step  (Prefect tasks of {steps_per_task} steps, cold cache)")
    print(f"second run (cache)               {again:7.1f} s  {1000 * again / n:6.1f} ms/step  ({recomputed} recomputed)")
    print(f"ratio serial / dask: {serial / dask:.2f}   ratio second / first dask run: {again / dask:.3f}")


def _run(folder: Path, stop_ma: float, step_myr: float, steps_per_task: int):
    from prefect import flow
    from prefect_dask import DaskTaskRunner

    from flows.runners import LOCAL_CLUSTER
    from geoprospect.pipelines import tectonics as core
    from geoprospect.catalog import PlateModelSource, TectonicsSpec
    from geoprospect.demo.plates import write_plate_model
    from geoprospect.io.files import FileRef
    from tasks.runs import task_run_states
    from tasks.tectonics import kinematics_steps, plate_model_inputs

    written = write_plate_model(folder / "demo", np.random.default_rng(0))
    plates = PlateModelSource(rotations=written["rotations"], topologies=written["topologies"],
                              static_polygons=[written["static_polygons"]], coastlines=[written["coastlines"]],
                              age_grid=written["age_grid"], deposits=written["deposits"])
    spec = TectonicsSpec(stop_ma=stop_ma, step_myr=step_myr, steps_per_task=steps_per_task)
    times = core.steps(spec)

    start = time.perf_counter()
    for t in times:
        core.kinematics_step(core.kinematics_files(plates), t, spec.spacing_deg, core.age_grid_for(plates, t),
                             folder / "serial" / f"k{t:g}.parquet", (spec.start_ma, spec.stop_ma))
    serial = time.perf_counter() - start

    refs = {f"plate_model.{k}": FileRef.of(p) for k, p in _paths(plates).items()}
    inputs = plate_model_inputs(plates, refs, spec)

    @flow(task_runner=DaskTaskRunner(cluster_kwargs=LOCAL_CLUSTER))
    def kinematics_only(work: str) -> list:
        futures = [kinematics_steps.submit(inputs["model_files"], inputs["kinematics_files"], times, spec.spacing_deg,
                                           {t: inputs["age_grids"][t] for t in times}, work) for times in inputs["chunks"]]
        return [f.result() for f in futures]

    walls, states = [], None
    for _ in range(2):
        start = time.perf_counter()
        state = kinematics_only(str(folder / "work"), return_state=True)
        walls.append(time.perf_counter() - start)
        states = task_run_states(state.state_details.flow_run_id)
    recomputed = sum(1 for task, s in states if task == "kinematics_steps" and s != "Cached")
    return serial, walls[0], walls[1], len(times), f"{recomputed} of {len(inputs['chunks'])} tasks"


def _paths(plates) -> dict[str, Path]:
    found = {}
    for key in ("rotations", "topologies", "static_polygons", "coastlines"):
        for i, path in enumerate(getattr(plates, key)):
            found[f"{key}[{i}]"] = path
    return found


if __name__ == "__main__":
    main()
